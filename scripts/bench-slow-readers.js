#!/usr/bin/env node
/**
 * Slow readers against a real daemon: five clients subscribe to every event and never read, while
 * a noisy pod writes stderr lines (each one a `pod.log` event for every subscriber). Prints the
 * daemon's RSS before, at its peak, and after the slow clients are gone, with the bytes the daemon
 * says it holds for clients (`status.clientBufferedBytes`) and how many slow clients it dropped.
 *
 *   npm run build && node scripts/bench-slow-readers.js [--config '{"maxClientBufferMB":16}']
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const slowAt = process.argv.indexOf('--slow');
const SLOW = slowAt > 0 ? Number(process.argv[slowAt + 1]) : 5;
const configAt = process.argv.indexOf('--config');
const config = configAt > 0 ? JSON.parse(process.argv[configAt + 1] ?? '{}') : {};

const home = mkdtempSync(join(tmpdir(), 'pk-slow-'));
const recipes = join(home, 'src');
mkdirSync(join(recipes, 'chatter'), { recursive: true });
writeFileSync(
  join(recipes, 'chatter', 'recipe.json'),
  JSON.stringify({ name: 'chatter', capability: 'chatter', entry: 'pod.py' }),
);
writeFileSync(
  join(recipes, 'chatter', 'pod.py'),
  [
    'import sys',
    '',
    'def process(payload, ctx):',
    '    for n in range(payload["lines"]):',
    '        sys.stderr.write(f"chatter line {n:07d} " + "x" * 200 + "\\n")',
    '    sys.stderr.flush()',
    '    return "ok"',
    '',
  ].join('\n'),
);
writeFileSync(join(home, 'config.json'), JSON.stringify({ logLevel: 'warn', ...config }));
const socketPath = join(home, 'podkeeper.sock');
const daemon = spawn(
  process.execPath,
  [
    ...(process.env.DAEMON_NODE_ARGS?.split(' ') ?? []),
    join(ROOT, 'bin', 'podkeeper.js'),
    'daemon',
    '--home',
    home,
    '--recipe-path',
    recipes,
  ],
  { stdio: ['ignore', process.env.TRACE_RSS ? 'inherit' : 'ignore', 'inherit'] },
);

const rssMB = () => {
  const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function connect() {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    socket.once('connect', () => resolve(socket)).once('error', reject);
  });
}

/** A client that reads: sends requests, resolves their final answers. */
async function reader() {
  const socket = await connect();
  const waiting = new Map();
  let rest = '';
  socket.setEncoding('utf8').on('data', (text) => {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const message = JSON.parse(line);
      if ('success' in message) waiting.get(message.id)?.(message);
    }
  });
  let next = 0;
  return {
    socket,
    ask(action, payload) {
      const id = `r${next++}`;
      socket.write(`${JSON.stringify({ id, action, payload })}\n`);
      return new Promise((resolve) => waiting.set(id, resolve));
    },
  };
}

for (let tries = 0; ; tries++) {
  try {
    (await connect()).destroy();
    break;
  } catch {
    if (tries > 200) throw new Error('the daemon did not start');
    await sleep(50);
  }
}
const control = await reader();
await control.ask('call', { target: 'chatter', input: { lines: 1 } });
await sleep(500);
const before = rssMB();

const slow = [];
for (let n = 0; n < SLOW; n++) {
  const socket = await connect();
  socket.on('error', () => undefined);
  socket.write(`${JSON.stringify({ id: `s${n}`, action: 'events.subscribe', payload: {} })}\n`);
  socket.pause(); // never reads again
  slow.push({ socket });
}

let peak = before;
let peakBuffered = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, rssMB());
  if (process.env.TRACE_RSS)
    process.stderr.write(`${((performance.now() - started) / 1000).toFixed(2)}s ${rssMB().toFixed(0)}MB\n`);
}, 50);
const started = performance.now();
for (let round = 0; round < 8; round++) {
  await control.ask('call', { target: 'chatter', input: { lines: 50_000 } });
  const status = await control.ask('status', {});
  peakBuffered = Math.max(peakBuffered, status.result?.clientBufferedBytes ?? 0);
}
const connected = (await control.ask('status', {})).result.connections - 1;
for (const client of slow) client.socket.destroy();
await sleep(1000);
const afterGone = rssMB();
const status = await control.ask('status', {});
await sleep(10_000);
const after10s = rssMB();
clearInterval(sampler);

console.log(
  `slow readers:            ${SLOW} (events.subscribe, never read); config ${JSON.stringify(config)}`,
);
console.log(
  `slow clients left:       ${connected} after ${((performance.now() - started) / 1000).toFixed(1)} s of noise`,
);
console.log(`daemon RSS before:       ${before.toFixed(0)} MB`);
console.log(`daemon RSS peak:         ${peak.toFixed(0)} MB`);
console.log(`daemon RSS 1 s after:    ${afterGone.toFixed(0)} MB (clients gone)`);
console.log(`daemon RSS 11 s after:   ${after10s.toFixed(0)} MB`);
console.log(
  `clientBufferedBytes:     peak seen ${peakBuffered}, after ${status.result?.clientBufferedBytes}`,
);

control.socket.destroy();
daemon.kill('SIGTERM');
await new Promise((resolve) => daemon.once('exit', resolve));
rmSync(home, { recursive: true, force: true });
