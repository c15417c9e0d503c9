#!/usr/bin/env node
/**
 * Slow readers against a real daemon, beside the same load with no slow reader, in one run. A noisy
 * pod writes stderr lines (each one a `pod.log` event for every subscriber) and streams chunks, in
 * three scenarios, each on a fresh daemon, in alternating rounds (`--repeat`, 3; medians printed):
 *   - none:        no slow client (the floor);
 *   - subscribers: `--slow N` clients subscribe to every event and never read;
 *   - callers:     `--slow N` clients call a pod that streams chunks, and stop reading them.
 * Prints, side by side, the daemon's RSS before, at its peak, and after the slow clients are gone,
 * the bytes the daemon says it holds for clients (`status.clientBufferedBytes`), and how many slow
 * clients were still connected at the end of the noise.
 *
 *   npm run build && node scripts/bench-slow-readers.js [--slow 5] [--config '{"maxClientBufferMB":16}']
 *     [--scenarios none,subscribers,callers] [--repeat 3] [--settle 10]   (the first is the floor the peaks are compared with)
 *   DAEMON_NODE_ARGS='--max-semi-space-size=2' node scripts/bench-slow-readers.js   (V8 flags to try)
 *   SMAPS=1 …   (also prints where the daemon's RSS lies at the end: malloc heap, anonymous, files)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const SLOW = Number(option('--slow', '5'));
const config = JSON.parse(option('--config', '{}'));
const SETTLE = Number(option('--settle', '10')); // seconds to wait, after the slow clients left, for the last reading
const ROUNDS = 8;
const LINES = 50_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function writeRecipes(dir) {
  const recipe = (name, code) => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(
      join(dir, name, 'recipe.json'),
      JSON.stringify({ name, capability: name, entry: 'pod.py' }),
    );
    writeFileSync(join(dir, name, 'pod.py'), code.join('\n'));
  };
  recipe('chatter', [
    'import sys',
    '',
    'def process(payload, ctx):',
    '    for n in range(payload["lines"]):',
    '        sys.stderr.write(f"chatter line {n:07d} " + "x" * 200 + "\\n")',
    '    sys.stderr.flush()',
    '    return "ok"',
    '',
  ]);
  recipe('gusher', [
    'def process(payload, ctx):',
    '    chunk = "y" * 200',
    '    for _ in range(payload["chunks"]):',
    '        yield chunk',
    '',
  ]);
}

/** Where a process's RSS lies: the malloc heap, V8's and other anonymous mappings, files (MB). */
function whereRss(pid) {
  const sums = {};
  let region = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) region = head[1].startsWith('/') ? 'files' : head[1] || 'anonymous';
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) sums[region] = (sums[region] ?? 0) + Number(rss[1]) / 1024;
  }
  return Object.entries(sums)
    .filter(([, mb]) => mb >= 1)
    .map(([name, mb]) => `${name} ${mb.toFixed(0)} MB`)
    .join(', ');
}

function connect(socketPath) {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    socket.once('connect', () => resolve(socket)).once('error', reject);
  });
}

/** A client that reads: sends requests, resolves their final answers. */
async function reader(socketPath) {
  const socket = await connect(socketPath);
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

/** One scenario on a fresh daemon; answers its figures. */
async function scenario(kind) {
  const home = mkdtempSync(join(tmpdir(), 'pk-slow-'));
  const recipes = join(home, 'src');
  writeRecipes(recipes);
  writeFileSync(join(home, 'config.json'), JSON.stringify({ logLevel: 'warn', ...config }));
  const socketPath = join(home, 'podkeeper.sock');
  const nodeArgs = process.env.DAEMON_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const daemon = spawn(
    process.execPath,
    [...nodeArgs, join(ROOT, 'bin', 'podkeeper.js'), 'daemon', '--home', home, '--recipe-path', recipes],
    { stdio: ['ignore', process.env.TRACE_RSS ? 'inherit' : 'ignore', 'inherit'] },
  );
  const rssMB = () => {
    const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  };
  for (let tries = 0; ; tries++) {
    try {
      (await connect(socketPath)).destroy();
      break;
    } catch {
      if (tries > 200) throw new Error('the daemon did not start');
      await sleep(50);
    }
  }
  const control = await reader(socketPath);
  await control.ask('call', { target: 'chatter', input: { lines: 1 } });
  await control.ask('call', { target: 'gusher', input: { chunks: 1 } });
  await sleep(500);
  const before = rssMB();

  const slow = [];
  for (let n = 0; n < (kind === 'none' ? 0 : SLOW); n++) {
    const socket = await connect(socketPath);
    socket.on('error', () => undefined);
    const request =
      kind === 'subscribers'
        ? { id: `s${n}`, action: 'events.subscribe', payload: {} }
        : { id: `c${n}`, action: 'call', payload: { target: 'gusher', input: { chunks: 100_000 } } };
    socket.write(`${JSON.stringify(request)}\n`);
    socket.pause(); // never reads again
    slow.push(socket);
  }

  const started = performance.now();
  let peak = before;
  let peakBuffered = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMB());
    if (process.env.TRACE_RSS)
      process.stderr.write(`${((performance.now() - started) / 1000).toFixed(2)}s ${rssMB().toFixed(0)}MB\n`);
  }, 50);
  for (let round = 0; round < ROUNDS; round++) {
    await control.ask('call', { target: 'chatter', input: { lines: LINES } });
    const status = await control.ask('status', {});
    peakBuffered = Math.max(peakBuffered, status.result?.clientBufferedBytes ?? 0);
  }
  const seconds = (performance.now() - started) / 1000;
  const left = (await control.ask('status', {})).result.connections - 1;
  for (const socket of slow) socket.destroy();
  await sleep(1000);
  const after1s = rssMB();
  const held = (await control.ask('status', {})).result?.clientBufferedBytes;
  await sleep(SETTLE * 1000);
  const after11s = rssMB();
  clearInterval(sampler);
  if (process.env.SMAPS) process.stderr.write(`${kind}: ${whereRss(daemon.pid)}\n`);

  control.socket.destroy();
  daemon.kill('SIGTERM');
  await new Promise((resolve) => daemon.once('exit', resolve));
  rmSync(home, { recursive: true, force: true });
  return { kind, before, peak, after1s, after11s, peakBuffered, held, left, seconds };
}

const kinds = option('--scenarios', 'none,subscribers,callers').split(',');
const REPEAT = Number(option('--repeat', '3'));
const all = kinds.map(() => []);
for (
  let round = 0;
  round < REPEAT;
  round++ // alternating, so a neighbour's burst hits every scenario alike
)
  for (const [index, kind] of kinds.entries()) all[index].push(await scenario(kind));
const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
const runs = all.map((rounds) => {
  const run = { ...rounds[0] };
  for (const key of ['before', 'peak', 'after1s', 'after11s', 'peakBuffered', 'held', 'left', 'seconds'])
    run[key] = median(rounds.map((one) => one[key]));
  run.peaks = rounds.map((one) => one.peak.toFixed(0)).join('/');
  return run;
});
const [floor] = runs;
const mb = (value) => `${value.toFixed(0)} MB`;
const rows = [
  ['slow clients', (run) => (run.kind === 'none' ? '0' : `${SLOW} ${run.kind}`)],
  ['seconds of noise', (run) => run.seconds.toFixed(1)],
  ['RSS before', (run) => mb(run.before)],
  ['RSS peak', (run) => `${mb(run.peak)} (${(run.peak / floor.peak).toFixed(2)}×)`],
  ['RSS peak, each round', (run) => run.peaks],
  ['RSS 1 s after', (run) => mb(run.after1s)],
  [`RSS ${SETTLE + 1} s after`, (run) => mb(run.after11s)],
  ['clientBufferedBytes peak', (run) => String(run.peakBuffered)],
  ['clientBufferedBytes after', (run) => String(run.held)],
  ['slow clients connected at end', (run) => String(run.left)],
];
console.log(
  `${ROUNDS} × ${LINES} pod.log lines of ~220 bytes; medians of ${REPEAT} alternating rounds; config ${JSON.stringify(config)}; node args ${process.env.DAEMON_NODE_ARGS ?? '(none)'}`,
);
for (const [label, cell] of rows)
  console.log(`${label.padEnd(30)}${runs.map((run) => cell(run).padStart(20)).join('')}`);
