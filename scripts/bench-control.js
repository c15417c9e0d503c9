#!/usr/bin/env node
/**
 * The control plane beside its floor, measured in one run on the same interpreter:
 *   1. a warm `call echo` through a real daemon's Unix socket (the client library) vs a raw
 *      Node↔Python JSON-lines pipe echo (p50, p99), in alternating rounds; beside them, to show where
 *      the time goes, the same call in-process (PodManager, no socket) and a control round trip that
 *      reaches no pod (a `cancel` of nothing); and the least a Node process in the middle can cost: the
 *      same hops through a zero-logic Node relay (echo-relay.js), next to the daemon driven by the same
 *      bare socket client
 *   2. pipelined calls/s through one pod over one connection (window of outstanding calls), same floor
 *   3. the daemon's RSS idle, and with 20 pods running (20 copies of the echo recipe)
 * Run after `npm run build`: node scripts/bench-control.js  (BENCH_SCALE=0.2 for a quick pass).
 * Prints a markdown table; no assertions.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import split2 from 'split2';
import { connect } from '../dist/client/index.js';
import { resolvePython } from '../dist/env/python.js';
import { PodManager } from '../dist/index.js';
import { percentile, pipelined, rawEcho } from './echo-floor.js';

const ROOT = join(import.meta.dirname, '..');
const scale = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = 6;
const ROUND_TRIPS = Math.round(1000 * scale);
const PIPELINED = Math.round(20_000 * scale);
const WINDOW = 256;
const WARMUP = 300;
const PODS = 20;

const median = (values) => percentile(values, 50);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sequential(call, times) {
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const start = performance.now();
    await call({ text: 'hello', i });
    times.push(performance.now() - start);
  }
}

/** A bare JSON-lines socket client, the same for the relay and the daemon: `call(input)` → result. */
async function lineClient(path) {
  const socket = net.createConnection(path);
  await once(socket, 'connect');
  const waiting = new Map();
  socket.pipe(split2(JSON.parse)).on('data', (answer) => {
    waiting.get(answer.id)?.(answer.result);
    waiting.delete(answer.id);
  });
  let next = 0;
  return {
    call(input) {
      const id = `b${next++}`;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        socket.write(`${JSON.stringify({ id, action: 'call', payload: { target: 'echo', input } })}\n`);
      });
    },
    close: () => socket.destroy(),
  };
}

async function startRelay(path, python) {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'echo-relay.js'), path, python], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(child.stdout, 'data');
  return child;
}

function rssMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function startDaemon(home, recipes) {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'podkeeper.js'),
      'daemon',
      '--home',
      home,
      '--idle-timeout',
      '-1',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PODKEEPER_RECIPE_PATH: recipes } },
  );
  for (let i = 0; i < 400; i++) {
    try {
      return { child, client: await connect({ home }) };
    } catch {
      await sleep(25);
    }
  }
  throw new Error('the daemon did not start');
}

const { executable, version } = await resolvePython(process.env.PODKEEPER_PYTHON ?? 'python3');
console.log(
  `podkeeper control bench — node ${process.version}, python ${version} (${executable}), scale ${scale}\n`,
);

const home = mkdtempSync(join(tmpdir(), 'pk-bench-'));
const recipes = join(home, 'bench-recipes');
mkdirSync(recipes);
for (let i = 1; i <= PODS; i++) {
  const name = `echo-${String(i).padStart(2, '0')}`;
  cpSync(join(ROOT, 'recipes', 'echo'), join(recipes, name), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(recipes, name, 'recipe.json'), 'utf8'));
  writeFileSync(join(recipes, name, 'recipe.json'), JSON.stringify({ ...manifest, name, capability: name }));
}

const { child, client } = await startDaemon(home, recipes);
const raw = rawEcho(executable);
const relayChild = await startRelay(join(home, 'relay.sock'), executable);
const relay = await lineClient(join(home, 'relay.sock'));
const bare = await lineClient(join(home, 'podkeeper.sock'));
const manager = new PodManager({ python: executable, idleTimeout: -1, recipePath: [], home });
try {
  await sleep(500);
  const idleRss = rssMB(child.pid);
  const calls = {
    floor: (payload) => raw.call(payload),
    ours: (payload) => client.call('echo', payload),
    inProcess: (payload) => manager.call('echo', payload),
    noop: () => client.request('cancel', { id: 'nothing' }),
    relay: (payload) => relay.call(payload),
    bare: (payload) => bare.call(payload),
  };
  for (let i = 0; i < WARMUP; i++)
    await Promise.all(Object.values(calls).map((call) => call({ text: 'warm' })));

  const seq = { floor: [], ours: [], inProcess: [], noop: [], relay: [], bare: [] };
  const pipe = { floor: [], ours: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const sides = ['floor', 'ours', 'relay', 'bare', 'inProcess', 'noop'];
    const order = round % 2 === 0 ? sides : sides.toReversed();
    for (const side of order) await sequential(calls[side], seq[side]);
    for (const side of ['floor', 'ours']) pipe[side].push(await pipelined(calls[side], PIPELINED, WINDOW));
  }
  await manager.close();
  const afterLoadRss = rssMB(child.pid);

  await Promise.all(
    Array.from({ length: PODS }, (_, i) => client.start(`echo-${String(i + 1).padStart(2, '0')}`)),
  );
  await sleep(500);
  const podsRss = rssMB(child.pid);
  const status = await client.status();

  const rows = [
    [
      'warm call p50 (ms): socket + client vs raw pipe',
      median(seq.floor),
      median(seq.ours),
      `${(median(seq.ours) / median(seq.floor)).toFixed(2)}×`,
      '≤ 2×',
    ],
    ['  the same call in-process (PodManager, no socket), p50 (ms)', '', median(seq.inProcess), '', ''],
    ['  a control round trip reaching no pod (cancel of nothing), p50 (ms)', '', median(seq.noop), '', ''],
    [
      '  the same hops through a zero-logic Node relay vs the raw pipe, p50 (ms)',
      median(seq.floor),
      median(seq.relay),
      `${(median(seq.relay) / median(seq.floor)).toFixed(2)}×`,
      '',
    ],
    [
      '  daemon vs that relay, both driven by a bare socket client, p50 (ms)',
      median(seq.relay),
      median(seq.bare),
      `${(median(seq.bare) / median(seq.relay)).toFixed(2)}×`,
      '',
    ],
    [
      'warm call p99 (ms)',
      percentile(seq.floor, 99),
      percentile(seq.ours, 99),
      `${(percentile(seq.ours, 99) / percentile(seq.floor, 99)).toFixed(2)}×`,
      '',
    ],
    [
      `pipelined calls/s, one pod, one connection (window ${WINDOW}), median of ${ROUNDS}`,
      median(pipe.floor),
      median(pipe.ours),
      `${(median(pipe.ours) / median(pipe.floor)).toFixed(2)}×`,
      '≥ 20,000/s',
    ],
    ['daemon RSS idle (MB)', '', idleRss, '', ''],
    [`daemon RSS after ${ROUNDS * (ROUND_TRIPS + PIPELINED)} calls (MB)`, '', afterLoadRss, '', ''],
    [`daemon RSS with ${status.pods} pods running (MB)`, '', podsRss, '', ''],
    [`pods' own RSS, summed (${status.pods} pods, MB)`, '', status.memory.usedMB, '', ''],
  ];
  const fmt = (n) =>
    typeof n !== 'number' ? n : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(3);
  console.log('| measure | floor | podkeeper | ratio | target |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const [name, floor, ours, ratio, target] of rows)
    console.log(`| ${name} | ${fmt(floor)} | ${fmt(ours)} | ${ratio} | ${target} |`);
} finally {
  raw.close();
  relay.close();
  bare.close();
  relayChild.kill('SIGTERM');
  await client.shutdown().catch(() => undefined);
  await client.close();
  await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  rmSync(home, { recursive: true, force: true });
}
