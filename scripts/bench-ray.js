#!/usr/bin/env node
/**
 * Pods on Ray beside their floors, in one run: a three-node Ray cluster on loopback
 * (test/ray/cluster.py), the built-in echo recipe run locally and the same recipe placed on Ray.
 *   1. spawn→ready: local vs remote (bridge + actor + runner on the node), alternating
 *   2. warm round trip, sequential: local vs remote vs a bare Ray async actor call from a Python
 *      driver (the floor of the remote path: two Ray hops fewer, no pod protocol)
 *   3. pipelined calls/s (a window of outstanding calls): local vs remote vs the bare actor
 * Ray is installed with uv into a throwaway env (or BENCH_RAY_PYTHON names one that has ray).
 * Run: npm run build && node scripts/bench-ray.js  (BENCH_SCALE=0.2 for a quick pass). No assertions.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import split2 from 'split2';
import { PodManager } from '../dist/index.js';
import { RAY_VERSION } from '../dist/launch/config.js';
import { BUILTIN_RECIPES_DIR } from '../dist/paths.js';
import { percentile, pipelined } from './echo-floor.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const SPAWNS = Math.max(2, Math.round(5 * scale));
const ROUND_TRIPS = Math.round(1000 * scale);
const PIPELINED = Math.round(10000 * scale);
const WINDOW = 64;
const ROOT = join(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'pkbench-'));

function fmt(value) {
  return Math.round(value).toLocaleString('en');
}

function installRay() {
  const venv = join(root, 'venv');
  execFileSync('uv', ['venv', '--quiet', '--python', 'python3', venv], { stdio: 'inherit' });
  const python = join(venv, 'bin', 'python');
  execFileSync('uv', ['pip', 'install', '--quiet', '--python', python, `ray==${RAY_VERSION}`], {
    stdio: 'inherit',
  });
  return python;
}

async function startCluster(python) {
  const child = spawn(python, [join(ROOT, 'test', 'ray', 'cluster.py'), process.env.RAY_TMPDIR], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const info = await new Promise((resolve, reject) => {
    child.stdout.pipe(split2()).once('data', (line) => resolve(JSON.parse(line)));
    void exited.then(() => reject(new Error('the Ray cluster did not start')));
  });
  return {
    ...info,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The floor: a driver calling an async actor on the same node, sequentially then pipelined. */
const BARE_ACTOR = `
import json, sys, time, ray
ray.init(address=sys.argv[1], log_to_driver=False, logging_level="error")
n, m = int(sys.argv[2]), int(sys.argv[3])

@ray.remote(resources={"gpu_host": 1}, num_cpus=0, max_concurrency=1000)
class Echo:
    async def echo(self, value):
        return value

actor = Echo.remote()
for i in range(100):
    ray.get(actor.echo.remote({"text": "warm-up"}))
times = []
for i in range(n):
    start = time.perf_counter()
    ray.get(actor.echo.remote({"text": "hello", "i": i}))
    times.append((time.perf_counter() - start) * 1000)
times.sort()
import asyncio

async def lanes(window):
    # The same driver shape as the daemon's side: \`window\` callers, each awaiting its answer.
    sent = 0
    async def lane():
        nonlocal sent
        while sent < m:
            sent += 1
            await actor.echo.remote({"text": "hello", "i": sent})
    await asyncio.gather(*(lane() for _ in range(window)))

start = time.perf_counter()
asyncio.run(lanes(64))
rate = m / (time.perf_counter() - start)
print(json.dumps({"p50": times[len(times) // 2], "p99": times[min(len(times) - 1, int(len(times) * 0.99))], "rate": rate}))
`;

async function main() {
  process.env.RAY_TMPDIR = join(root, 't');
  process.env.RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER = '0'; // keep Ray on 127.0.0.1
  let cluster;
  try {
    const python = process.env.BENCH_RAY_PYTHON ?? installRay();
    cluster = await startCluster(python);
    const recipes = join(root, 'recipes');
    cpSync(join(BUILTIN_RECIPES_DIR, 'echo'), join(recipes, 'echo-remote'), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(recipes, 'echo-remote', 'recipe.json'), 'utf8'));
    writeFileSync(
      join(recipes, 'echo-remote', 'recipe.json'),
      JSON.stringify({ ...manifest, name: 'echo-remote' }),
    );
    const manager = await PodManager.create({
      home: join(root, 'home'),
      recipePath: [recipes],
      launchers: { ray: { kind: 'ray', address: cluster.address, resources: { gpu_host: 1 }, python } },
      placement: { 'echo-remote': 'ray' },
    });
    const spawns = { local: [], remote: [] };
    for (let i = 0; i < SPAWNS; i++) {
      for (const [side, target] of [
        ['local', 'echo'],
        ['remote', 'echo-remote'],
      ]) {
        const start = performance.now();
        await manager.start(target);
        spawns[side].push(performance.now() - start);
        await manager.stop({ target });
      }
    }
    const rtt = { local: [], remote: [] };
    const rate = {};
    for (const [side, target] of [
      ['local', 'echo'],
      ['remote', 'echo-remote'],
    ]) {
      const call = (payload) => manager.call(target, payload);
      for (let i = 0; i < 100; i++) await call({ text: 'warm-up' });
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const start = performance.now();
        await call({ text: 'hello', i });
        rtt[side].push(performance.now() - start);
      }
      rate[side] = await pipelined(call, PIPELINED, WINDOW);
    }
    await manager.close();
    const bare = JSON.parse(
      execFileSync(python, ['-c', BARE_ACTOR, cluster.address, String(ROUND_TRIPS), String(PIPELINED)], {
        encoding: 'utf8',
      }),
    );
    const ms = (v) => `${v.toFixed(2)} ms`;
    const rows = [
      ['spawn→ready, median', ms(percentile(spawns.local, 50)), ms(percentile(spawns.remote, 50)), '-'],
      ['round trip p50', ms(percentile(rtt.local, 50)), ms(percentile(rtt.remote, 50)), ms(bare.p50)],
      ['round trip p99', ms(percentile(rtt.local, 99)), ms(percentile(rtt.remote, 99)), ms(bare.p99)],
      [`pipelined calls/s (window ${WINDOW})`, fmt(rate.local), fmt(rate.remote), fmt(bare.rate)],
    ];
    console.log(
      `Ray ${RAY_VERSION}, 3 nodes on 127.0.0.1; ${SPAWNS} spawns, ${ROUND_TRIPS} round trips, ${PIPELINED} pipelined`,
    );
    console.log(['', 'local pod', 'pod on Ray', 'bare Ray actor'].join(' | '));
    for (const row of rows) console.log(row.join(' | '));
  } finally {
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
