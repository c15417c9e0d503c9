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
 * per call (connect, call, close). Run: npm run bench:socket  (BENCH_SCALE=0.2 for a quick pass).
 * Prints a markdown table; no assertions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolvePython } from '../dist/env/python.js';
import { startDaemon, startRelay, stopDaemon } from './bench-processes.js';
import { percentile } from './echo-floor.js';
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
const WARMUP = 500;
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
  for (const side of ['relay', 'daemon'])
    for (let i = 0; i < WARMUP; i++) for (const call of Object.values(shapes)) await call(side, i);
  for (let round = 0; round < ROUNDS; round++) {
    const sides = round % 2 === 0 ? ['relay', 'daemon'] : ['daemon', 'relay'];
    for (const [shape, call] of Object.entries(shapes)) {
      for (const side of sides) {
        for (let i = 0; i < CALLS; i++) {
          const start = performance.now();
          await call(side, i);
          times[shape][side].push(performance.now() - start);
        }
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
} finally {
  for (const client of Object.values(clients)) client.close();
  relayChild.kill('SIGTERM');
  await stopDaemon(daemon);
  rmSync(home, { recursive: true, force: true });
}
