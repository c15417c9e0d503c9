#!/usr/bin/env node
/**
 * Two builds' daemons side by side in one run: a before/after for a change to the warm call path,
 * which one run of bench-socket.js cannot show (its ratio moves ±0.15× between runs; two daemons
 * measured in alternating rounds of the same run share the machine's load).
 *
 *   client ──socket──▶ daemon of build A ──pipe──▶ its echo pod
 *   client ──socket──▶ daemon of build B ──pipe──▶ its echo pod      (alternating rounds)
 *
 * Each build is a checkout with `npm run build` done (e.g. a worktree of main, and yours); each
 * daemon and pod comes from its own tree, both driven by the same minimal client (line-client.js),
 * every process on CPU 0 as in bench-socket.js, 20,000 warm-up calls per side, then ROUNDS
 * alternating rounds of 3,000 small calls. Prints each side's p50 and its daemon's and pod's CPU
 * time per call. No assertions.
 *
 * Run: node scripts/bench-socket-builds.js <tree A> <tree B>   (ROUNDS=10 by default)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile, processCpuMicros } from './echo-floor.js';
import { lineClient } from './line-client.js';

const trees = process.argv.slice(2).map((tree) => resolve(tree));
if (trees.length !== 2) {
  console.error('usage: node scripts/bench-socket-builds.js <tree A> <tree B>');
  process.exit(2);
}
const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
if (allowed !== '0') {
  const pinned = spawnSync('taskset', ['-c', '0', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(pinned.status ?? 1);
}

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const CALLS = 3000;
const WARMUP = 20_000;

const sides = [];
try {
  for (const [name, tree] of [
    ['A', trees[0]],
    ['B', trees[1]],
  ]) {
    // each tree's own way of starting its daemon
    const { startDaemon, stopDaemon } = await import(join(tree, 'scripts', 'bench-processes.js'));
    const home = mkdtempSync(join(tmpdir(), `pk-builds-${name}-`));
    const side = { name, tree, home, stopDaemon, times: [], cpu: [0, 0], calls: 0 };
    sides.push(side);
    side.daemon = await startDaemon(home);
    side.client = await lineClient(join(home, 'podkeeper.sock'));
    await side.client.call({ text: 'start the pod' });
    const pod = (await side.daemon.client.pods()).find((info) => info.recipe === 'echo')?.pid;
    side.pids = [side.daemon.child.pid, pod];
  }
  for (const side of sides) for (let i = 0; i < WARMUP; i++) await side.client.call({ text: 'hello', i });
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const before = side.pids.map(processCpuMicros);
      for (let i = 0; i < CALLS; i++) {
        const start = performance.now();
        await side.client.call({ text: 'hello', i });
        side.times.push(performance.now() - start);
      }
      const after = side.pids.map(processCpuMicros);
      side.cpu = side.cpu.map((sum, k) => sum + after[k] - before[k]);
      side.calls += CALLS;
    }
  }
  console.log('| build | small call p50 (µs) | daemon CPU per call (µs) | pod CPU per call (µs) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const side of sides) {
    const [daemon, pod] = side.cpu.map((micros) => (micros / side.calls).toFixed(1));
    console.log(
      `| ${side.name}: ${side.tree} | ${(percentile(side.times, 50) * 1000).toFixed(1)} | ${daemon} | ${pod} |`,
    );
  }
  const [a, b] = sides.map((side) => percentile(side.times, 50));
  console.log(`\nB's p50 / A's: ${(b / a).toFixed(3)}`);
} finally {
  for (const side of sides) {
    side.client?.close();
    if (side.daemon) await side.stopDaemon(side.daemon);
    rmSync(side.home, { recursive: true, force: true });
  }
}
