#!/usr/bin/env node
import { spawn } from 'node:child_process';
/**
 * A 16 MiB JSON payload echoed through podkeeper beside the raw pipe, in alternating rounds:
 *   floor:      a raw Node↔Python JSON-lines echo with linear framing (echo-floor.js)
 *   in-process: PodManager.call('echo', payload)
 *   daemon:     the client library over the daemon's socket (client → daemon → pod and back)
 * with the daemon's CPU time per round trip; then three 16 MiB calls at once on one client
 * connection while another client makes small calls one after another: how long the longest small
 * call took, beside the longest of the same small calls with no big call under way (same run).
 * Run: npm run bench:payload  (BENCH_SCALE=0.5 for a quick pass; BENCH_MIB=4 for another size).
 * Prints a markdown table; no assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { resolvePython } from '../dist/env/python.js';
import { PodManager } from '../dist/index.js';
import { echoCopies, startDaemon, stopDaemon } from './bench-processes.js';
import { bigValue } from './big-line.js';
import { percentile, processCpuMicros, rawEcho } from './echo-floor.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const MIB = Number(process.env.BENCH_MIB ?? 16);
const ROUNDS = Math.max(3, Math.round(6 * scale));
const CONCURRENT = 3;
const payload = bigValue(MIB * 1024 * 1024);
const bytes = JSON.stringify(payload).length;

const { executable, version } = await resolvePython(process.env.PODKEEPER_PYTHON ?? 'python3');
console.log(
  `podkeeper payload bench — node ${process.version}, python ${version}, ${(bytes / 2 ** 20).toFixed(1)} MiB of JSON, scale ${scale}\n`,
);
const home = mkdtempSync(join(tmpdir(), 'pk-bench-'));
const raw = rawEcho(executable, undefined, { linear: true });
const manager = new PodManager({ python: executable, idleTimeout: -1, recipePath: [], home });
// The small calls go to a pod of their own: what they measure is the daemon, not the echo pod's queue.
const recipes = echoCopies(join(home, 'bench-recipes'), ['echo-small']);
const daemon = await startDaemon(home, { env: { PODKEEPER_RECIPE_PATH: recipes } });
// The other client is a process of its own: this one's work on the big payloads must not delay it.
const small = spawn(
  process.execPath,
  [join(import.meta.dirname, 'small-caller.js'), join(home, 'podkeeper.sock'), 'echo-small'],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const smallLines = createInterface({ input: small.stdout })[Symbol.asyncIterator]();
await smallLines.next(); // ready: connected

/** The other client's small calls until `done` settles: their latencies, ms. */
async function smallCalls(done) {
  small.stdin.write('start\n');
  await done;
  small.stdin.write('stop\n');
  return JSON.parse((await smallLines.next()).value);
}

try {
  const sides = {
    floor: () => raw.call(payload),
    'in-process': () => manager.call('echo', payload),
    daemon: () => daemon.client.call('echo', payload),
  };
  for (const call of Object.values(sides)) await call(); // warm: pods started, code compiled
  const times = { floor: [], 'in-process': [], daemon: [] };
  let daemonCpu = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? Object.keys(sides) : Object.keys(sides).toReversed();
    for (const side of order) {
      const cpuBefore = side === 'daemon' ? processCpuMicros(daemon.child.pid) : 0;
      const start = performance.now();
      await sides[side]();
      times[side].push(performance.now() - start);
      if (side === 'daemon') daemonCpu += processCpuMicros(daemon.child.pid) - cpuBefore;
    }
  }

  // The same small calls with nothing else under way, then while three big ones share a connection.
  const alone = await smallCalls(new Promise((resolve) => setTimeout(resolve, 2000)));
  const bigCalls = Promise.allSettled(Array.from({ length: CONCURRENT }, () => sides.daemon()));
  const during = await smallCalls(bigCalls);
  const outcomes = await bigCalls;
  const succeeded = outcomes.filter(
    (outcome) => outcome.status === 'fulfilled' && outcome.value.length === payload.length,
  ).length;

  const floor = percentile(times.floor, 50);
  const rows = [
    [`${MIB} MiB JSON round trip p50 (ms): raw pipe, linear framing`, floor, '', ''],
    [
      '  in-process (PodManager)',
      percentile(times['in-process'], 50),
      percentile(times['in-process'], 50) / floor,
      '≤ 1.3×',
    ],
    [
      '  through the daemon (client library)',
      percentile(times.daemon, 50),
      percentile(times.daemon, 50) / floor,
      '≤ 2×',
    ],
    ['  daemon CPU per round trip (ms)', daemonCpu / ROUNDS / 1000, '', ''],
    [
      `${CONCURRENT} concurrent ${MIB} MiB calls on one connection: came back whole`,
      `${succeeded} of ${CONCURRENT}`,
      '',
      `${CONCURRENT} of ${CONCURRENT}`,
    ],
    ['another client, small calls alone: longest (ms)', Math.max(...alone), '', ''],
    [`  the same during the ${CONCURRENT} big calls: longest (ms)`, Math.max(...during), '', '≤ 50 ms'],
    [`  the same during the ${CONCURRENT} big calls: p99 (ms)`, percentile(during, 99), '', ''],
  ];
  const fmt = (n) =>
    typeof n !== 'number' ? n : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
  console.log('| measure | value | ratio to the raw pipe | target |');
  console.log('| --- | ---: | ---: | --- |');
  for (const [name, value, ratio, target] of rows)
    console.log(
      `| ${name} | ${fmt(value)} | ${typeof ratio === 'number' ? `${ratio.toFixed(2)}×` : ratio} | ${target} |`,
    );
} finally {
  small.stdin.end('exit\n');
  raw.close();
  await manager.close();
  await stopDaemon(daemon);
  rmSync(home, { recursive: true, force: true });
}
