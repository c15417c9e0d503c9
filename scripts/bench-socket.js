#!/usr/bin/env node
/**
 * A warm call through the daemon's socket beside the least any Node process in the middle costs:
 * the zero-logic relay (echo-relay.js) over the same hops, both driven by the same minimal client
 * (line-client.js), every process on one CPU (the script re-runs itself under `taskset -c 0`), so
 * no figure depends on where the scheduler puts a process (a cross-CPU wake-up costs ~30 µs here).
 *
 *   client ──socket──▶ relay  ──pipe──▶ raw Python echo          (the floor)
 *   client ──socket──▶ daemon ──pipe──▶ echo recipe's pod         (ours)
 *
 * Payload shapes, each in alternating rounds: a small object, a ~1 KiB one, and a fresh connection
 * per call (connect, call, close), after a warm-up of 20,000 calls per side: the daemon's per-call
 * path needs about that many before V8 has optimised it (the relay's few lines need far fewer), so
 * the first 2,000 calls after start are shown apart. With each side's CPU time per call. Run: npm run bench:socket  (BENCH_SCALE=0.2 for a quick pass).
 * Prints a markdown table; no assertions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolvePython } from '../dist/env/python.js';
import { startDaemon, startRelay, stopChild, stopDaemon } from './bench-processes.js';
import { percentile, processCpuMicros } from './echo-floor.js';
import { lineClient } from './line-client.js';

const CPU = process.env.BENCH_CPU ?? '0';
const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
if (allowed !== CPU) {
  const pinned = spawnSync('taskset', ['-c', CPU, process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(pinned.status ?? 1);
}

const scale = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = 6;
const CALLS = Math.round(2000 * scale);
/** Calls before measuring: the daemon's per-call path is optimised by V8 only after ~10,000 calls. */
const WARMUP = 20_000;
const FIRST = 2000;
const KIB = { text: 'x'.repeat(900), numbers: Array.from({ length: 20 }, (_, i) => i * 1.5) };

const { executable, version } = await resolvePython(process.env.PODKEEPER_PYTHON ?? 'python3');
console.log(
  `podkeeper socket bench — node ${process.version}, python ${version}, every process on CPU ${CPU}, scale ${scale}\n`,
);
const home = mkdtempSync(join(tmpdir(), 'pk-bench-'));
const daemon = await startDaemon(home, {
  args: (process.env.BENCH_DAEMON_ARGS ?? '--log-level warn').split(' '),
});
const relayPath = join(home, 'relay.sock');
const relayChild = await startRelay(relayPath, executable);
const sockets = { relay: relayPath, daemon: join(home, 'podkeeper.sock') };
const clients = { relay: await lineClient(sockets.relay), daemon: await lineClient(sockets.daemon) };
await clients.daemon.call({ text: 'start the pod' });
// Where each side's time goes: the CPU time of its Node process in the middle and of its Python
// process, per call (from /proc, summed over the small-object rounds).
const podPid = (await daemon.client.pods()).find((pod) => pod.recipe === 'echo')?.pid;
const middle = {
  relay: [relayChild.pid, childOf(relayChild.pid)],
  daemon: [daemon.child.pid, podPid],
};
const cpu = { relay: [0, 0, 0], daemon: [0, 0, 0] };

/** The one child of `pid` (the relay's Python echo), from /proc. */
function childOf(pid) {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

const shapes = {
  'small object': (side, i) => clients[side].call({ text: 'hello', i }),
  '~1 KiB object': (side, i) => clients[side].call({ ...KIB, i }),
  'a connection per call': async (side, i) => {
    const client = await lineClient(sockets[side]);
    await client.call({ text: 'hello', i });
    client.close();
  },
};
const times = Object.fromEntries(Object.keys(shapes).map((shape) => [shape, { relay: [], daemon: [] }]));
try {
  // The first calls after start, kept apart: they show what a short warm-up measures.
  const first = { relay: [], daemon: [] };
  for (const side of ['relay', 'daemon']) {
    for (let i = 0; i < FIRST; i++) {
      const start = performance.now();
      await shapes['small object'](side, i);
      first[side].push(performance.now() - start);
    }
  }
  for (const side of ['relay', 'daemon']) {
    for (let i = 0; i < WARMUP; i++) await shapes['small object'](side, i);
    for (let i = 0; i < WARMUP / 20; i++) for (const call of Object.values(shapes)) await call(side, i);
  }
  for (let round = 0; round < ROUNDS; round++) {
    const sides = round % 2 === 0 ? ['relay', 'daemon'] : ['daemon', 'relay'];
    for (const [shape, call] of Object.entries(shapes)) {
      for (const side of sides) {
        const before = middle[side].map(processCpuMicros);
        for (let i = 0; i < CALLS; i++) {
          const start = performance.now();
          await call(side, i);
          times[shape][side].push(performance.now() - start);
        }
        if (shape !== 'small object') continue;
        const after = middle[side].map(processCpuMicros);
        cpu[side] = [
          cpu[side][0] + after[0] - before[0],
          cpu[side][1] + after[1] - before[1],
          cpu[side][2] + CALLS,
        ];
      }
    }
  }
  console.log(
    '| warm call, same client (µs) | relay p50 | daemon p50 | ratio | relay p99 | daemon p99 | target |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const [shape, { relay, daemon: ours }] of Object.entries(times)) {
    const [r50, d50] = [percentile(relay, 50) * 1000, percentile(ours, 50) * 1000];
    const [r99, d99] = [percentile(relay, 99) * 1000, percentile(ours, 99) * 1000];
    console.log(
      `| ${shape} | ${r50.toFixed(1)} | ${d50.toFixed(1)} | ${(d50 / r50).toFixed(2)}× | ${r99.toFixed(0)} | ${d99.toFixed(0)} | ${shape === 'small object' ? '≤ 1.25×' : ''} |`,
    );
  }
  const [r50, d50] = [percentile(first.relay, 50) * 1000, percentile(first.daemon, 50) * 1000];
  console.log(
    `| small object, the first ${FIRST} calls after start (no warm-up) | ${r50.toFixed(1)} | ${d50.toFixed(1)} | ${(d50 / r50).toFixed(2)}× | | | |`,
  );
  const perCall = (side, process) => cpu[side][process] / cpu[side][2];
  for (const [name, process] of [
    ['Node process in the middle', 0],
    ['Python process', 1],
  ]) {
    const [relay, ours] = [perCall('relay', process), perCall('daemon', process)];
    console.log(
      `| CPU per small call, ${name} (µs) | ${relay.toFixed(1)} | ${ours.toFixed(1)} | ${(ours / relay).toFixed(2)}× | | | |`,
    );
  }
} finally {
  for (const client of Object.values(clients)) client.close();
  await stopChild(relayChild);
  await stopDaemon(daemon);
  rmSync(home, { recursive: true, force: true });
}
