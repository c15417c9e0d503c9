#!/usr/bin/env node
/**
 * Environments beside their floors, measured in the same run, in alternating rounds (a noisy
 * neighbour on a shared machine hits both sides alike):
 *   1. spawn-to-ready (manager.start) of a pod on an existing env vs a pod on the base interpreter;
 *   2. podkeeper's first build of an env vs the same `uv venv` + `uv pip install` typed by hand,
 *      both on a warm uv cache (a new dependency set whose packages uv has seen before);
 *   3. the per-spawn env check alone (fingerprint read + stats).
 * Offline and deterministic: the packages are tiny wheels made here (test/fixtures/env/make_wheel.py).
 * Run: npm run build && node scripts/bench-env.js  (BENCH_ROUNDS=N to change the rounds). No assertions.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Environments } from '../dist/env/envs.js';
import { resolvePython } from '../dist/env/python.js';
import { PodManager } from '../dist/index.js';
import { PACKAGE_ROOT } from '../dist/paths.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'env');
const root = mkdtempSync(join(tmpdir(), 'podkeeper-bench-env-'));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(1)} ms`;
const signed = (value) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)} ms`;

try {
  const base = await resolvePython(process.env.PODKEEPER_PYTHON ?? 'python3');
  // 12 small wheels, some depending on others, so the install has real resolution work.
  const wheelhouse = join(root, 'wheels');
  const names = Array.from({ length: 12 }, (_, i) => `pkb-${String.fromCharCode(97 + i)}`);
  for (const [i, name] of names.entries()) {
    const requires = i > 0 && i % 3 === 0 ? [`${names[i - 1]}>=1`] : [];
    execFileSync(base.executable, [join(FIXTURES, 'make_wheel.py'), wheelhouse, name, '1.0.0', ...requires]);
  }
  const env = { ...process.env, UV_OFFLINE: '1', UV_CACHE_DIR: join(root, 'uv-cache'), UV_NO_CONFIG: '1' };

  // ---------------------------------------------------------------- recipes
  const recipes = join(root, 'recipes');
  const recipe = (name, dependencies) => {
    mkdirSync(join(recipes, name), { recursive: true });
    cpSync(join(PACKAGE_ROOT, 'recipes', 'echo', 'echo.py'), join(recipes, name, 'echo.py'));
    writeFileSync(
      join(recipes, name, 'recipe.json'),
      JSON.stringify({ name, capability: name, entry: 'echo.py', dependencies }),
    );
  };
  recipe('on-env', names);
  recipe('on-base', []);

  // ---------------------------------------------------------------- 1 + 3: spawns
  const manager = new PodManager({
    home: join(root, 'home'),
    recipePath: [recipes],
    builtinRecipes: false,
    envMode: 'venv',
    wheelhouse,
    env: { UV_OFFLINE: '1', UV_CACHE_DIR: env.UV_CACHE_DIR, UV_NO_CONFIG: '1' },
    idleTimeout: -1,
  });
  await manager.start('on-env'); // builds the env (and warms uv's cache for part 2)
  await manager.start('on-base');
  await manager.stop({ all: true });
  const spawn = { env: [], base: [] };
  for (let round = 0; round < ROUNDS * 2; round++) {
    for (const [side, target] of round % 2
      ? [
          ['env', 'on-env'],
          ['base', 'on-base'],
        ]
      : [
          ['base', 'on-base'],
          ['env', 'on-env'],
        ]) {
      const started = performance.now();
      await manager.start(target);
      spawn[side].push(performance.now() - started);
      await manager.stop({ target });
    }
  }
  await manager.close();

  const loaded = {
    recipe: { name: 'on-env', dependencies: names, systemDependencies: [] },
    dir: recipes,
    builtin: false,
  };
  let commandMs = 0;
  const envs = (home) =>
    new Environments({
      home,
      mode: 'venv',
      base,
      uv: undefined,
      wheelhouse,
      pythonDownloads: undefined,
      timeoutMs: 300_000,
      env,
      logger: pino({ level: 'silent' }),
      emit: (event) => {
        if (event.event === 'env.command') commandMs += event.ms;
      },
      container: false,
    });
  const checker = envs(join(root, 'home'));
  await checker.prepare(loaded); // first use: the one deep RECORD check
  const checks = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    await checker.prepare(loaded);
    checks.push(performance.now() - started);
  }

  // ---------------------------------------------------------------- 2: first builds
  const uv = (await checker.status()).installer;
  if (uv.kind !== 'uv') throw new Error('bench-env needs uv');
  const byHand = (dir) => {
    const started = performance.now();
    for (const args of [
      ['venv', dir, '--python', base.executable],
      ['pip', 'install', '--python', join(dir, 'bin', 'python'), '--find-links', wheelhouse, ...names],
    ]) {
      const result = spawnSync(uv.path, args, { env, cwd: root, stdio: 'ignore' });
      if (result.status !== 0) throw new Error(`uv ${args.join(' ')} failed`);
    }
    return performance.now() - started;
  };
  const build = { podkeeper: [], hand: [], own: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const ours = async () => {
      const home = join(root, `build-${round}`);
      const fresh = envs(home);
      await fresh.status(); // a running daemon has found uv already
      commandMs = 0;
      const started = performance.now();
      await fresh.prepare(loaded);
      const took = performance.now() - started;
      build.podkeeper.push(took);
      build.own.push(took - commandMs);
      rmSync(home, { recursive: true, force: true });
    };
    const theirs = () => {
      const dir = join(root, `hand-${round}`);
      build.hand.push(byHand(dir));
      rmSync(dir, { recursive: true, force: true });
    };
    if (round % 2) {
      await ours();
      theirs();
    } else {
      theirs();
      await ours();
    }
  }

  const rows = [
    [
      'spawn-to-ready, p50: existing env (12 packages) vs base interpreter',
      ms(median(spawn.env)),
      ms(median(spawn.base)),
      signed(median(spawn.env) - median(spawn.base)),
      '≤ +50 ms',
    ],
    [
      'first env build, p50: podkeeper vs `uv venv` + `uv pip install` by hand (warm uv cache)',
      ms(median(build.podkeeper)),
      ms(median(build.hand)),
      `×${(median(build.podkeeper) / median(build.hand)).toFixed(2)} (paired rounds: ×${median(build.podkeeper.map((t, i) => t / build.hand[i])).toFixed(2)})`,
      '≤ ×1.2',
    ],
    [
      "first env build, p50: podkeeper's own work (lock, fingerprint, rename: build minus uv's run time)",
      ms(median(build.own)),
      '—',
      '—',
      '—',
    ],
    ['env check before each spawn (fingerprint + stats), p50', ms(median(checks)), '—', '—', '—'],
  ];
  process.stdout.write(
    `\npodkeeper env bench — ${ROUNDS * 2} spawns and ${ROUNDS} builds per side, interleaved; ` +
      `uv ${uv.version}, Python ${base.version}, node ${process.version}\n\n`,
  );
  process.stdout.write(
    '| measure | podkeeper | baseline | difference | target |\n| --- | --- | --- | --- | --- |\n',
  );
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
