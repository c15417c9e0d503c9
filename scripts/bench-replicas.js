#!/usr/bin/env node
/**
 * Replicas: calls/s of a CPU-bound recipe (a pure-Python loop, so the GIL allows one handler at a
 * time per process) with `replicas.max: 2` beside the same recipe with one pod, both measured in the
 * same run, in alternating rounds (a noisy neighbour on a shared machine hits both alike). Each side
 * is driven by the same closed loop: CLIENTS callers, each sending its next call when the last one
 * answers. The two-replica side is warmed first (its second replica started by queued calls, as in
 * use), and the table says how many pods served it.
 *
 * Run: npm run bench:replicas  (BENCH_ROUNDS=N, default 5; BENCH_CALLS=N per side and round, default 40).
 * Prints a table; no assertions. Expect about 2× on 2 idle cores, less when other work shares them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PodManager } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 40);
const CLIENTS = 4;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const POD = `
import os


def process(payload, ctx):
    total = 0
    for i in range(payload["n"]):
        total += i * i
    return {"pid": os.getpid(), "total": total % 1_000_003}  # within a double: an exact answer
`;

const root = mkdtempSync(join(tmpdir(), 'podkeeper-bench-replicas-'));
for (const [name, max] of [
  ['loop-one', 1],
  ['loop-two', 2],
]) {
  mkdirSync(join(root, name));
  writeFileSync(join(root, name, 'pod.py'), POD);
  writeFileSync(
    join(root, name, 'recipe.json'),
    JSON.stringify({ name, capability: name, entry: 'pod.py', replicas: { max } }),
  );
}

const manager = new PodManager({
  home: join(root, 'home'),
  recipePath: [root],
  builtinRecipes: false,
  idleTimeout: -1,
});

/** CALLS calls from CLIENTS closed-loop callers; returns calls/s and the pids that answered. */
async function drive(recipe, n) {
  const pids = new Set();
  let left = CALLS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (left > 0) {
        left -= 1;
        pids.add((await manager.call(recipe, { n })).pid);
      }
    }),
  );
  return { perSecond: CALLS / ((performance.now() - started) / 1000), pids };
}

try {
  // ~40 ms of pure Python per call on this machine: the call's own overhead is well under 1%.
  await manager.call('loop-one', { n: 1 });
  let n = 200_000;
  const t0 = performance.now();
  await manager.call('loop-one', { n });
  n = Math.max(10_000, Math.round((n * 40) / (performance.now() - t0)));
  await drive('loop-one', n);
  await drive('loop-two', n); // the second replica starts here, from queued calls
  await drive('loop-two', n);
  const one = [];
  const two = [];
  const served = new Set();
  for (let round = 0; round < ROUNDS; round++) {
    one.push((await drive('loop-one', n)).perSecond);
    const result = await drive('loop-two', n);
    two.push(result.perSecond);
    for (const pid of result.pids) served.add(pid);
  }
  const pods = (await manager.list()).filter((pod) => pod.recipe === 'loop-two');
  const base = median(one);
  const ours = median(two);
  console.log(
    `podkeeper bench:replicas — node ${process.version}, ${availableParallelism()} CPUs, ${ROUNDS} rounds × ${CALLS} calls, ${CLIENTS} callers, loop n=${n}\n`,
  );
  console.log('| measure | one pod | replicas.max 2 | ratio | target |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| CPU-bound calls/s (median of rounds) | ${base.toFixed(1)} | ${ours.toFixed(1)} | ${(ours / base).toFixed(2)}× | ≥ 1.7× |`,
  );
  console.log(
    `\nreplicas.max 2 side: ${pods.length} pods (replicas ${pods.map((pod) => pod.replica).join(', ')}), ${served.size} of them answered calls; rounds one pod ${one.map((v) => v.toFixed(1)).join(' ')}; two ${two.map((v) => v.toFixed(1)).join(' ')}`,
  );
} finally {
  await manager.close();
  rmSync(root, { recursive: true, force: true });
}
