#!/usr/bin/env node
/**
 * Cold starts of a numpy + pandas recipe, every figure beside its baseline from the same run, in
 * alternating rounds (a noisy neighbour on a shared machine hits every side alike). Everything runs
 * with PYTHONDONTWRITEBYTECODE=1, as in many container images: nothing writes a `.pyc` on the way.
 *
 *   1. bytecode: a cold call (spawn to first answer, no zygote) on the env podkeeper built (compiled
 *      at build time) vs a bare `python -c 'import numpy, pandas; print(1)'` to its first line on the same env; and the old
 *      figures: the same two on a copy of that env without its `__pycache__` folders.
 *   2. zygote: a cold call forked from the recipe's zygote (`preload: ["numpy", "pandas"]`) vs a
 *      normal cold call; then the private memory (smaps_rollup Private_Clean + Private_Dirty) of a
 *      forked pod's processes vs a normally started pod's, and their RSS.
 *
 * numpy and pandas come from PyPI through uv (its cache makes later runs offline-fast).
 * Run: npm run bench:coldstart  (BENCH_ROUNDS=N, default 7). Prints a table; no assertions.
 *
 * BENCH_PRELOAD=torch: the same figures for torch + sentence_transformers (default 3 rounds), on the
 * test:heavy recipe test/heavy/fixtures/minilm (the catalog embeddings env and its packaged model,
 * loaded and warmed up in the zygote). PyTorch from PyPI is gigabytes, and so is the env's copy.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodManager } from '../dist/index.js';
import { PODS_DIR } from '../dist/paths.js';

const TORCH = process.env.BENCH_PRELOAD === 'torch';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (TORCH ? 3 : 7));
/** The recipe started (`np` is written below) and the modules it imports. */
const RECIPE = TORCH ? 'minilm' : 'np';
const MODULES = TORCH ? ['torch', 'sentence_transformers'] : ['numpy', 'pandas'];
const MINILM = join(import.meta.dirname, '..', 'test', 'heavy', 'fixtures', 'minilm');
const root = mkdtempSync(join(tmpdir(), 'podkeeper-bench-cold-'));
const env = { PYTHONDONTWRITEBYTECODE: '1' };
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const POD = `
import numpy
import pandas


def process(payload, ctx):
    return {"sum": float(pandas.Series(numpy.arange(10)).sum())}
`;

function writeRecipe(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pod.py'), POD);
  writeFileSync(
    join(dir, 'recipe.json'),
    JSON.stringify({
      name: 'np',
      capability: 'np',
      entry: 'pod.py',
      dependencies: ['numpy', 'pandas'],
      preload: ['numpy', 'pandas'],
    }),
  );
}

/** Spawn to the first line of a bare interpreter importing what the recipe imports (not to its
 * exit: tearing pandas down is no part of a start). */
function bareImport(python) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(python, ['-u', '-c', `import ${MODULES.join(', ')}; print(1)`], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    child.stdout.once('data', () => {
      const ms = performance.now() - started;
      child.once('exit', () => resolve(ms));
    });
  });
}

/** A cold call: no pod running, so the call spawns one and waits for its first answer. */
async function coldCall(manager) {
  const started = performance.now();
  await manager.call(RECIPE, {});
  const ms = performance.now() - started;
  await manager.stop({ target: RECIPE });
  return ms;
}

function stripBytecode(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (!entry.isDirectory()) continue;
    if (entry.name === '__pycache__') rmSync(path, { recursive: true });
    else stripBytecode(path);
  }
}

/** Private_Clean + Private_Dirty and Rss of a process, kB. */
function smaps(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { private: field('Private_Clean') + field('Private_Dirty'), rss: field('Rss') };
}

/**
 * The floor of a forked process: the private memory of a child forked from an interpreter that
 * imported what the zygote preloads (and froze it for the collector, as the zygote does), then ran
 * nothing but a blocking read. Every process of a forked pod pays at least this much: the fork's own
 * copy-on-write faults (CPython 3.11 writes a reference count into every object it touches, the
 * after-fork hooks, a stack). `withoutHooks`: forked as the zygote forks a spare's guardian
 * (forked.fork_without_hooks: no os.register_at_fork hooks run in the child). Both after a first
 * fork, as a zygote's spares after its first. kB.
 */
async function idleForkFloor(python, withoutHooks = false) {
  const code = `
import gc, os, sys
${MODULES.map((name) => `import ${name}`).join('\n')}
from podkeeper_pod import forked
gc.freeze()
# as a zygote's spares after its first: a library's fork handler may end a thread pool its import
# started (numpy's OpenBLAS), and fork_without_hooks forks without hooks only with one thread
first = os.fork()
if first == 0:
    os._exit(0)
os.waitpid(first, 0)
r, w = os.pipe()
pid = ${withoutHooks ? 'forked.fork_without_hooks()' : 'os.fork()'}
if pid == 0:
    os.close(w)
    os.read(r, 1)
    os._exit(0)
print(pid, flush=True)
sys.stdin.read()
`;
  const parent = spawn(python, ['-c', code], {
    env: { ...process.env, ...env, PYTHONPATH: PODS_DIR },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    parent.stdout.setEncoding('utf8');
    const died = once(parent, 'exit').then(([code]) => {
      throw new Error(`the floor's interpreter exited (${code}) before it forked`);
    });
    while (!out.includes('\n')) out += (await Promise.race([once(parent.stdout, 'data'), died]))[0];
    const child = Number(out.trim());
    // measured once the child sleeps (state S): in its read, done with what the fork made it touch
    const deadline = performance.now() + 10_000;
    while (!readFileSync(`/proc/${child}/stat`, 'latin1').includes(') S ')) {
      if (performance.now() > deadline)
        throw new Error(`the forked child ${child} never blocked in its read`);
      await sleep(5);
    }
    return smaps(child).private;
  } finally {
    if (parent.exitCode === null && parent.signalCode === null) {
      const exited = once(parent, 'exit');
      parent.kill('SIGKILL'); // its forked child reads end of file from the pipe then, and exits
      await exited;
    }
  }
}

function parentOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The processes of a ready pod: its runner and the runner's guardian (what the daemon holds). */
function podProcesses(runner) {
  return [runner, parentOf(runner)];
}

/**
 * Where a process's private pages are, kB by mapping: `[heap]`, `[stack]`, `anon` (mmap'd memory:
 * pymalloc's arenas, numpy's buffers, thread stacks), or a file's name (its data and relocated pages).
 */
function privateByMapping(pid) {
  const found = new Map();
  let name = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1] ?? '';
      name = path === '' ? 'anon' : path.startsWith('[') ? path : path.split('/').at(-1);
      continue;
    }
    const field = /^Private_(?:Clean|Dirty):\s+(\d+) kB/.exec(line);
    if (field) found.set(name, (found.get(name) ?? 0) + Number(field[1]));
  }
  return [...found].filter(([, kb]) => kb > 0).sort((a, b) => b[1] - a[1]);
}

const describeMappings = (mappings) =>
  mappings
    .slice(0, 6)
    .map(([name, kb]) => `${name} ${(kb / 1024).toFixed(2)}`)
    .join(', ');

async function podMemory(manager) {
  await manager.call(RECIPE, {});
  const [pod] = await manager.list();
  const pids = podProcesses(pod.pid);
  const total = { private: 0, rss: 0, byProcess: [], mappings: pids.map(privateByMapping) };
  for (const pid of pids) {
    const { private: own, rss } = smaps(pid);
    total.private += own;
    total.rss += rss;
    total.byProcess.push((own / 1024).toFixed(1));
  }
  await manager.stop({ target: RECIPE });
  return { ...total, processes: pids.length };
}

try {
  const recipes = join(root, 'recipes');
  if (TORCH) cpSync(MINILM, join(recipes, RECIPE), { recursive: true });
  else writeRecipe(join(recipes, RECIPE));
  const home = join(root, 'home');
  const options = {
    home,
    recipePath: [recipes],
    builtinRecipes: false,
    idleTimeout: -1,
    envBuildTimeout: 1800,
    env,
  };
  console.log(`building the env (uv, ${MODULES.join(' + ')} from PyPI or its cache)…`);
  const builder = new PodManager({ ...options, zygotes: false });
  await builder.call(RECIPE, {});
  await builder.close();
  const [hash] = readdirSync(join(home, 'envs')).filter((name) => name !== '.locks');
  const compiled = join(home, 'envs', hash);
  const stripped = join(root, 'stripped-env');
  cpSync(compiled, stripped, { recursive: true, verbatimSymlinks: true });
  stripBytecode(join(stripped, 'lib'));
  const python = { compiled: join(compiled, 'bin', 'python'), stripped: join(stripped, 'bin', 'python') };
  const version = execFileSync(
    python.compiled,
    [
      '-c',
      `import ${MODULES.join(', ')}, sys; print(sys.version.split()[0], ${MODULES.map((m) => `${m}.__version__`).join(', ')})`,
    ],
    { env: { ...process.env, ...env } },
  )
    .toString()
    .trim();
  console.log(`python, ${MODULES.join(', ')}: ${version}; ${ROUNDS} rounds\n`);

  // The old env runs in system mode on the copy's interpreter (it has everything: nothing to install).
  const normal = new PodManager({ ...options, zygotes: false });
  const old = new PodManager({
    ...options,
    home: join(root, 'home-old'),
    envMode: 'system',
    python: python.stripped,
    zygotes: false,
  });
  const forking = new PodManager(options);
  const zygote = await forking.startZygote(RECIPE);
  if (zygote === undefined) throw new Error('the zygote did not start (see the daemon log)');
  await Promise.all([coldCall(normal), coldCall(old), coldCall(forking)]); // first spawns: env checks

  const times = { bare: [], ours: [], bareOld: [], oursOld: [], forked: [] };
  const memory = { normal: [], forked: [] };
  for (let round = 0; round < ROUNDS; round++) {
    times.bare.push(await bareImport(python.compiled));
    times.ours.push(await coldCall(normal));
    times.forked.push(await coldCall(forking));
    times.oursOld.push(await coldCall(old));
    times.bareOld.push(await bareImport(python.stripped));
  }
  for (let round = 0; round < 3; round++) {
    memory.normal.push(await podMemory(normal));
    memory.forked.push(await podMemory(forking));
  }
  const zygoteMemory = smaps(zygote);
  const floor = await idleForkFloor(python.compiled);
  const quietFloor = await idleForkFloor(python.compiled, true);
  await Promise.all([normal.close(), old.close(), forking.close()]);

  const m = Object.fromEntries(Object.entries(times).map(([key, values]) => [key, median(values)]));
  const mem = (side, key) => median(memory[side].map((sample) => sample[key])) / 1024;
  const pm = { normal: mem('normal', 'private'), forked: mem('forked', 'private') };
  const rss = { normal: mem('normal', 'rss'), forked: mem('forked', 'rss') };
  // [figure, baseline, ours, target, what the baseline is]
  const rows = [
    ['cold call, env with bytecode (ms)', m.bare, m.ours, '≤ 1.2×', 'bare import, same env'],
    ['cold call, env without bytecode (ms)', m.bareOld, m.oursOld, '(old)', 'bare import, same env'],
    ['old cold call vs new (ms)', m.oursOld, m.ours, '', 'cold call without bytecode'],
    ['cold call forked from the zygote (ms)', m.ours, m.forked, '≤ 0.05×', 'normal cold call'],
    ['pod private memory (MB)', pm.normal, pm.forked, '≤ 0.10×', 'normal pod'],
    ['pod RSS (MB)', rss.normal, rss.forked, '', 'normal pod (shared pages included)'],
  ];
  console.log(
    `${'figure'.padEnd(40)}${'baseline'.padStart(10)}${'ours'.padStart(10)}${'ratio'.padStart(9)}  target   baseline is`,
  );
  for (const [name, base, ours, target, what] of rows) {
    const ratio = ours / base;
    console.log(
      `${name.padEnd(40)}${base.toFixed(1).padStart(10)}${ours.toFixed(1).padStart(10)}${`${ratio.toFixed(3)}×`.padStart(9)}  ${target.padEnd(8)} ${what}`,
    );
  }
  console.log(
    `\nprivate MB per process: normal pod ${memory.normal[0].byProcess.join(' + ')} (runner, guardian); ` +
      `forked pod ${memory.forked[0].byProcess.join(' + ')} (runner, its guardian: no process of the daemon's own); ` +
      `the zygote itself: private ${(zygoteMemory.private / 1024).toFixed(1)} MB, RSS ${(zygoteMemory.rss / 1024).toFixed(1)} MB (counted once, not per pod)`,
  );
  console.log(
    `a process forked from an interpreter with ${MODULES.join(' + ')} imported, running nothing: ` +
      `private ${(floor / 1024).toFixed(1)} MB, ${(quietFloor / 1024).toFixed(1)} MB without the after-fork hooks ` +
      `(as the guardian is forked); so a forked pod's floor (runner, guardian) is ` +
      `${((floor + quietFloor) / 1024).toFixed(1)} MB, ${((100 * (floor + quietFloor)) / 1024 / pm.normal).toFixed(1)} % of a normal pod`,
  );
  const [runnerPages, guardianPages] = memory.forked[0].mappings;
  console.log(`forked runner's private MB by mapping: ${describeMappings(runnerPages)}`);
  console.log(`forked guardian's private MB by mapping: ${describeMappings(guardianPages)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
