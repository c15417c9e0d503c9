#!/usr/bin/env node
/**
 * Live Python execution beside its floor, in one run, on the same python-exec pod of a real daemon
 * (socket, TypeScript client), in alternating rounds:
 *   - the floor: a plain `process` call (the pod answers a small dict; no code runs);
 *   - `execute` of a trivial function sent as source, with a cloudpickle argument and result
 *     (what the Python client's `@remote` sends), and the same with `json` values;
 *   - `execute` of a method on an instance the pod keeps; `execute` of a deployed function (no code);
 *   - for the whole picture, `@remote` from the Python client (its own loop, in a Python process).
 * The pod's env is built offline from a wheelhouse made here (recipes/python-exec/tests/make_wheelhouse.py).
 * Run after `npm run build`: node scripts/bench-exec.js  (BENCH_SCALE=0.2 for a quick pass).
 * Prints a markdown table; no assertions.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from '../dist/client/index.js';

const ROOT = join(import.meta.dirname, '..');
const PYTHON = process.env.PODKEEPER_PYTHON ?? 'python3';
const scale = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = 6;
const CALLS = Math.round(500 * scale);
const WARMUP = 200;

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const b64 = (value) =>
  execFileSync(
    PYTHON,
    ['-c', `import base64, cloudpickle; print(base64.b64encode(cloudpickle.dumps(${value})).decode())`],
    {
      encoding: 'utf8',
    },
  ).trim();

const IDENTITY = 'def identity(x):\n    return x\n';
const COUNTER =
  'class Counter:\n    def __init__(self):\n        self.n = 0\n    def tick(self):\n        self.n += 1\n        return self.n\n';

async function startDaemon(home, env) {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'podkeeper.js'), 'daemon', '--home', home], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const socket = join(home, 'podkeeper.sock');
  for (let i = 0; i < 400; i++) {
    try {
      return { child, client: await connect({ socket }), socket };
    } catch {
      await sleep(25);
    }
  }
  throw new Error('the daemon did not start');
}

function pythonClientLoop(socket, calls) {
  const script = `
import sys, time
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'clients', 'python', 'src'))})
from podkeeper_client import remote

@remote(socket=${JSON.stringify(socket)})
def identity(x):
    return x

for _ in range(${WARMUP}):
    identity(1)
times = []
for _ in range(${calls}):
    start = time.perf_counter()
    identity(1)
    times.append((time.perf_counter() - start) * 1000)
print(" ".join(f"{t:.4f}" for t in times))
`;
  return execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }).trim().split(' ').map(Number);
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'pk-bench-exec-'));
  const home = join(root, 'home');
  const wheels = join(root, 'wheels');
  execFileSync(PYTHON, [join(ROOT, 'recipes', 'python-exec', 'tests', 'make_wheelhouse.py'), wheels]);
  const env = {
    PODKEEPER_ENV_MODE: 'venv',
    PODKEEPER_PYTHON: PYTHON,
    PODKEEPER_WHEELHOUSE: wheels,
    PODKEEPER_LOG_LEVEL: 'warn',
    UV_OFFLINE: '1',
    UV_NO_CONFIG: '1',
    UV_CACHE_DIR: join(root, 'uv-cache'),
  };
  const { child, client, socket } = await startDaemon(home, env);
  try {
    const one = b64(1);
    const call = (action, input) => client.call('python-exec', input, { action });
    await call('execute', {
      execution_type: 'class',
      class_name: 'Counter',
      class_code: COUNTER,
      method_name: 'tick',
      instance_id: 'bench',
    });
    const variants = {
      'process (the floor: pod info, no code runs)': () => call('process', {}),
      'execute, source + cloudpickle': () =>
        call('execute', { function_name: 'identity', function_code: IDENTITY, args: [one] }),
      'execute, source + json': () =>
        call('execute', {
          function_name: 'identity',
          function_code: IDENTITY,
          args: [1],
          serialization: 'json',
        }),
      'execute, kept instance method': () =>
        call('execute', {
          execution_type: 'class',
          class_name: 'Counter',
          method_name: 'tick',
          instance_id: 'bench',
          create_new_instance: false,
        }),
      'execute, deployed function': () =>
        call('execute', { function_name: 'hello', args: ['x'], serialization: 'json' }),
    };
    const check = await variants['execute, source + cloudpickle']();
    if (!check.success || check.result !== one) throw new Error(`unexpected answer ${JSON.stringify(check)}`);

    const times = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
    for (const run of Object.values(variants)) for (let i = 0; i < WARMUP; i++) await run();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of Object.entries(variants)) {
        for (let i = 0; i < CALLS; i++) {
          const start = performance.now();
          await run();
          times[name].push(performance.now() - start);
        }
      }
    }
    times['@remote from the Python client (cloudpickle)'] = pythonClientLoop(socket, CALLS * ROUNDS);

    const floor = percentile(times['process (the floor: pod info, no code runs)'], 50);
    console.log(
      `python-exec round trips through a daemon socket, ${CALLS * ROUNDS} calls each, ${ROUNDS} alternating rounds\n`,
    );
    console.log('| call | p50 ms | p99 ms | calls/s (sequential) | p50 over the floor |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [name, values] of Object.entries(times)) {
      const p50 = percentile(values, 50);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const delta = Math.round((p50 - floor) * 1000);
      const over = name.startsWith('process') ? '—' : `${delta < 0 ? '−' : '+'}${Math.abs(delta)} µs`;
      console.log(
        `| ${name} | ${p50.toFixed(3)} | ${percentile(values, 99).toFixed(3)} | ${Math.round(1000 / mean)} | ${over} |`,
      );
    }
  } finally {
    await client.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
