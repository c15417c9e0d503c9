#!/usr/bin/env node
/**
 * podkeeper's hot paths beside their floors, measured in the same run on the same interpreter:
 *   1. sequential round trip: PodManager.call('echo') vs a raw Node↔Python JSON-lines echo (p50, p99)
 *   2. pipelined calls/s with a window of outstanding requests, same two sides, with the CPU time
 *      each side's Node and Python process spend per call
 *   3. spawn-to-ready of the echo pod vs a bare interpreter's start-to-first-line, one of each in turn
 *   4. a 16 MiB line read in 64 KiB chunks, in-process: JsonLinesChannel vs collect-concat-parse
 *      (scripts/big-line.js)
 * The two sides run in alternating rounds, so a noisy neighbour on a shared machine hits both alike.
 * Run: npm run bench  (env BENCH_SCALE=0.2 for a quick pass). Prints a table; no assertions.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { resolvePython } from '../dist/env/python.js';
import { PodManager } from '../dist/index.js';
import { measureBigLine } from './big-line.js';
import { percentile, pipelined, processCpuMicros, rawEcho } from './echo-floor.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = 10;
const ROUND_TRIPS = Math.round(1000 * scale);
const PIPELINED = Math.round(20000 * scale);
const WINDOW = 64;
const SPAWNS = Math.max(2, Math.round(4 * scale));
const WARMUP = 200;

async function sequential(call, times) {
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const start = performance.now();
    await call({ text: 'hello', i });
    times.push(performance.now() - start);
  }
}

/** One bare interpreter start to its first line, then one echo pod start to ready: side by side,
 * so a neighbour's burst lands on both. */
async function startPair(python, manager, times) {
  for (let i = 0; i < SPAWNS; i++) {
    let start = performance.now();
    const child = spawn(python, ['-u', '-c', 'print("ready")'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    times.floor.push(performance.now() - start);
    await new Promise((resolve) => child.once('exit', resolve));
    start = performance.now();
    await manager.start('echo');
    times.ours.push(performance.now() - start);
    await manager.stop({ target: 'echo' });
  }
}

const { executable, version } = await resolvePython(process.env.PODKEEPER_PYTHON ?? 'python3');
console.log(`podkeeper bench — node ${process.version}, python ${version} (${executable}), scale ${scale}\n`);

const raw = rawEcho(executable);
const manager = new PodManager({ python: executable, idleTimeout: -1, recipePath: [] });
const spawnManager = new PodManager({ python: executable, idleTimeout: -1, recipePath: [] });
const floorCall = (payload) => raw.call(payload);
const oursCall = (payload) => manager.call('echo', payload);
for (let i = 0; i < WARMUP; i++) await Promise.all([floorCall({ text: 'warm' }), oursCall({ text: 'warm' })]);

const seq = { floor: [], ours: [] };
const pipe = { floor: [], ours: [] };
const cpu = { floor: [], ours: [] };
const start = { floor: [], ours: [] };

const echoPod = (await manager.list()).find((pod) => pod.recipe === 'echo');
const pythonPid = { floor: raw.pid, ours: echoPod?.pid };
const pythonCpu = { floor: { micros: 0, calls: 0 }, ours: { micros: 0, calls: 0 } };
/** One pipelined round, with the Python process's CPU time over it added to `pythonCpu[side]`. */
async function pipelinedRound(side, call) {
  const before = processCpuMicros(pythonPid[side]);
  pipe[side].push(await pipelined(call, PIPELINED, WINDOW, cpu[side]));
  const after = processCpuMicros(pythonPid[side]);
  if (before !== undefined && after !== undefined) {
    pythonCpu[side].micros += after - before;
    pythonCpu[side].calls += PIPELINED;
  }
}

for (let round = 0; round < ROUNDS; round++) {
  await sequential(floorCall, seq.floor);
  await sequential(oursCall, seq.ours);
  await pipelinedRound('floor', floorCall);
  await pipelinedRound('ours', oursCall);
  await startPair(executable, spawnManager, start);
}
raw.close();
await manager.close();
await spawnManager.close();

const rawSeq = { p50: percentile(seq.floor, 50), p99: percentile(seq.floor, 99) };
const oursSeq = { p50: percentile(seq.ours, 50), p99: percentile(seq.ours, 99) };
const rawPipe = percentile(pipe.floor, 50);
const oursPipe = percentile(pipe.ours, 50);
const bare = percentile(start.floor, 50);
const ours = percentile(start.ours, 50);

const rows = [
  ['sequential round trip p50 (ms)', rawSeq.p50, oursSeq.p50, oursSeq.p50 / rawSeq.p50, '≤ 1.3×'],
  ['sequential round trip p99 (ms)', rawSeq.p99, oursSeq.p99, oursSeq.p99 / rawSeq.p99, ''],
  [
    'Node CPU per pipelined call (µs)',
    percentile(cpu.floor, 50),
    percentile(cpu.ours, 50),
    percentile(cpu.ours, 50) / percentile(cpu.floor, 50),
    '',
  ],
  ...(pythonCpu.floor.calls > 0 && pythonCpu.ours.calls > 0
    ? [
        [
          'Python CPU per pipelined call (µs)',
          pythonCpu.floor.micros / pythonCpu.floor.calls,
          pythonCpu.ours.micros / pythonCpu.ours.calls,
          pythonCpu.ours.micros / pythonCpu.ours.calls / (pythonCpu.floor.micros / pythonCpu.floor.calls),
          '',
        ],
      ]
    : []),
  [`pipelined calls/s (window ${WINDOW}), median of rounds`, rawPipe, oursPipe, oursPipe / rawPipe, '≥ 0.8×'],
  ['spawn to ready p50 (ms)', bare, ours, ours / bare, '≤ 1.3×'],
];
const big = measureBigLine(16 * 1024 * 1024, Math.max(3, Math.round(9 * scale)));
rows.push([
  '16 MiB line read in 64 KiB chunks, in-process (ms)',
  big.floor,
  big.ours,
  big.ours / big.floor,
  '',
]);
const fmt = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(3));
console.log('| measure | floor | podkeeper | ratio | target |');
console.log('| --- | ---: | ---: | ---: | --- |');
for (const [name, floor, value, ratio, target] of rows) {
  console.log(`| ${name} | ${fmt(floor)} | ${fmt(value)} | ${ratio.toFixed(2)}× | ${target} |`);
}
