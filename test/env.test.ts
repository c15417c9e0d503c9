/**
 * venv mode with real uv: content-addressed envs built from a wheelhouse this file makes (offline),
 * shared between recipes, reused without install work, rebuilt when broken, garbage-collected. The
 * install from the package registry is in test/online/registry.online.ts. Every pod really starts in
 * its env and imports from it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { describe, expect, it } from 'vitest';
import { parseInstallerLine } from '../src/env/progress.js';
import { satisfiesPythonSpec } from '../src/env/python-spec.js';
import { failingRequirement, normalizeRequirements } from '../src/env/requirements.js';
import type { PodManagerOptions } from '../src/index.js';
import {
  built,
  commands,
  fileTempDir,
  installs,
  makeWheels,
  offlineEnvOptions,
  type ProbeResult,
  SLOW_UV,
  writeRecipe,
} from './fixtures/env/helpers.js';
import { createManager, recordEvents, sleep, tempDir } from './helpers.js';

const wheelhouse = makeWheels(fileTempDir('podkeeper-wheels-'));
const uvCache = fileTempDir('podkeeper-uv-cache-');

function envManager(recipes: string, options: PodManagerOptions = {}) {
  const base = offlineEnvOptions(wheelhouse, uvCache);
  return createManager({ ...base, recipePath: [recipes], ...options, env: { ...base.env, ...options.env } });
}

function envDirs(home: string): string[] {
  return existsSync(join(home, 'envs'))
    ? readdirSync(join(home, 'envs')).filter((name) => name !== '.locks')
    : [];
}

describe('venv mode', () => {
  it('builds an env from the wheelhouse; the pod runs in it and imports its dependencies', async () => {
    const recipes = writeRecipe(tempDir(), {
      name: 'beta',
      dependencies: ['pk-beta'],
      modules: ['pk_beta', 'pk_alpha'],
    });
    const home = tempDir();
    const manager = envManager(recipes, { home });
    const events = recordEvents(manager);
    const result = (await manager.call('beta', {})) as ProbeResult;
    expect(result.versions).toEqual({ pk_beta: '2.0.0', pk_alpha: '1.0.0' });
    const [hash] = envDirs(home);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(result.prefix).toBe(join(home, 'envs', hash ?? ''));
    expect(result.executable).toBe(join(home, 'envs', hash ?? '', 'bin', 'python'));
    expect(built(events)).toMatchObject([{ recipe: 'beta', hash, mode: 'venv' }]);
    const phases = new Set(events.flatMap((e) => (e.event === 'env.progress' ? [e.phase] : [])));
    expect([...phases]).toEqual(expect.arrayContaining(['creating', 'resolving', 'installing', 'compiling']));
    // Compiled at build time: the pod (PYTHONDONTWRITEBYTECODE=1) never wrote these itself.
    const lib = join(home, 'envs', hash ?? '', 'lib');
    const site = join(lib, readdirSync(lib)[0] ?? '', 'site-packages');
    for (const module of ['pk_alpha', 'pk_beta'])
      expect(readdirSync(join(site, module, '__pycache__'))).toEqual([
        expect.stringMatching(/^__init__\.cpython-\d+\.pyc$/),
      ]);
    const fingerprint = JSON.parse(
      readFileSync(join(home, 'envs', hash ?? '', 'podkeeper-env.json'), 'utf8'),
    );
    expect(fingerprint).toMatchObject({ hash, key: { dependencies: ['pk-beta'], protocol: 2 } });
    expect((await manager.environment()).envs).toMatchObject([
      { hash, ok: true, dependencies: ['pk-beta'], recipes: ['beta'] },
    ]);
  });

  it('a recipe without dependencies runs on the base interpreter with no env and no command', async () => {
    const recipes = writeRecipe(tempDir(), { name: 'plain' });
    const home = tempDir();
    const manager = envManager(recipes, { home });
    const events = recordEvents(manager);
    const result = (await manager.call('plain', {})) as ProbeResult;
    expect(result.prefix).not.toContain(home);
    expect(commands(events)).toEqual([]);
    expect(envDirs(home)).toEqual([]);
  });

  it('two recipes with the same dependencies (spelled differently) share one env', async () => {
    const recipes = tempDir();
    writeRecipe(recipes, { name: 'one', dependencies: ['pk-alpha', 'pk-gamma'], modules: ['pk_alpha'] });
    writeRecipe(recipes, { name: 'two', dependencies: [' PK_Gamma ', 'Pk.Alpha'], modules: ['pk_gamma'] });
    const home = tempDir();
    const manager = envManager(recipes, { home });
    const events = recordEvents(manager);
    const one = (await manager.call('one', {})) as ProbeResult;
    const two = (await manager.call('two', {})) as ProbeResult;
    expect(one.prefix).toBe(two.prefix);
    expect(two.versions).toEqual({ pk_gamma: '0.3.0' });
    expect(built(events)).toHaveLength(1);
    expect(envDirs(home)).toHaveLength(1);
  });

  it('a second spawn, and a new manager on the same home, do no install work at all', async () => {
    const recipes = writeRecipe(tempDir(), {
      name: 'alpha',
      dependencies: ['pk-alpha'],
      modules: ['pk_alpha'],
    });
    const home = tempDir();
    const first = envManager(recipes, { home });
    await first.call('alpha', {});
    await first.stop({ all: true });
    const events = recordEvents(first);
    expect(await first.call('alpha', {})).toMatchObject({ versions: { pk_alpha: '1.0.0' } });
    expect(events.filter((e) => e.event === 'pod.spawned')).toHaveLength(1);
    expect(commands(events)).toEqual([]);
    const second = envManager(recipes, { home });
    const secondEvents = recordEvents(second);
    expect(await second.call('alpha', {})).toMatchObject({ versions: { pk_alpha: '1.0.0' } });
    expect(commands(secondEvents)).toEqual([]); // not even uv discovery
    expect(built(secondEvents)).toEqual([]);
  });

  it('concurrent spawns of two recipes sharing an env build it once', async () => {
    const recipes = tempDir();
    writeRecipe(recipes, { name: 'left', dependencies: ['pk-beta'], modules: ['pk_beta'] });
    writeRecipe(recipes, { name: 'right', dependencies: ['pk-beta'], modules: ['pk_alpha'] });
    const manager = envManager(recipes);
    const events = recordEvents(manager);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => manager.call(i % 2 ? 'left' : 'right', {}) as Promise<ProbeResult>),
    );
    expect(new Set(results.map((r) => r.prefix)).size).toBe(1);
    expect(built(events)).toHaveLength(1);
    expect(installs(events)).toHaveLength(1);
    expect(events.filter((e) => e.event === 'pod.spawned')).toHaveLength(2);
  });

  it('two managers sharing a home (one file lock) build once', async () => {
    const recipes = writeRecipe(tempDir(), {
      name: 'gamma',
      dependencies: ['pk-gamma'],
      modules: ['pk_gamma'],
    });
    const home = tempDir();
    const slow = { uv: SLOW_UV, env: { SLOW_UV_DELAY: '0.5' } };
    const [a, b] = [envManager(recipes, { home, ...slow }), envManager(recipes, { home, ...slow })];
    const [aEvents, bEvents] = [recordEvents(a!), recordEvents(b!)];
    const [ra, rb] = (await Promise.all([a!.call('gamma', {}), b!.call('gamma', {})])) as ProbeResult[];
    expect(ra!.prefix).toBe(rb!.prefix);
    expect(built([...aEvents, ...bEvents])).toHaveLength(1);
    const waited = [...aEvents, ...bEvents].filter(
      (e) => e.event === 'env.progress' && e.phase === 'waiting',
    );
    expect(waited).toHaveLength(1);
  });

  it('an env with a deleted file, or without its fingerprint, is detected and rebuilt', async () => {
    const recipes = writeRecipe(tempDir(), {
      name: 'alpha',
      dependencies: ['pk-alpha'],
      modules: ['pk_alpha'],
    });
    const home = tempDir();
    const manager = envManager(recipes, { home });
    const events = recordEvents(manager);
    const { prefix } = (await manager.call('alpha', {})) as ProbeResult;
    const site = join(prefix, 'lib', readdirSync(join(prefix, 'lib'))[0] ?? '', 'site-packages');

    // 1. the package's module is gone: the per-spawn check sees it.
    await manager.stop({ all: true });
    rmSync(join(site, 'pk_alpha', '__init__.py'));
    expect(await manager.call('alpha', {})).toMatchObject({ versions: { pk_alpha: '1.0.0' }, prefix });
    expect(events.filter((e) => e.event === 'env.removed')).toMatchObject([{ reason: 'broken' }]);
    expect(built(events)).toHaveLength(2);

    // 2. a file only the RECORD lists: a new manager's first use of the env sees it.
    await manager.stop({ all: true });
    rmSync(join(site, 'pk_alpha-1.0.0.dist-info', 'METADATA'));
    const fresh = envManager(recipes, { home });
    const freshEvents = recordEvents(fresh);
    expect(await fresh.call('alpha', {})).toMatchObject({ versions: { pk_alpha: '1.0.0' } });
    expect(built(freshEvents)).toHaveLength(1);
    expect(existsSync(join(site, 'pk_alpha-1.0.0.dist-info', 'METADATA'))).toBe(true);

    // 3. no fingerprint (a partial env): rebuilt.
    await fresh.stop({ all: true });
    rmSync(join(prefix, 'podkeeper-env.json'));
    const third = envManager(recipes, { home });
    const thirdEvents = recordEvents(third);
    await third.call('alpha', {});
    expect(built(thirdEvents)).toHaveLength(1);
    expect(envDirs(home)).toHaveLength(1);
  });

  it('a failed build answers ENV_BUILD_FAILED with uv’s message, leaves nothing, and is not retried at once', async () => {
    const recipes = writeRecipe(tempDir(), { name: 'broken', dependencies: ['pk-alpha', 'pk-missing>=1'] });
    const home = tempDir();
    const manager = envManager(recipes, { home });
    const events = recordEvents(manager);
    const error = await manager.call('broken', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ENV_BUILD_FAILED',
      details: { recipe: 'broken', requirement: 'pk-missing>=1', step: 'installing the dependencies' },
    });
    expect((error as Error).message).toMatch(/pk-missing was not found/);
    expect(envDirs(home)).toEqual([]);
    expect(events.filter((e) => e.event === 'env.failed')).toHaveLength(1);

    const before = commands(events).length;
    await expect(manager.call('broken', {})).rejects.toBe(error); // remembered, no rebuild
    expect(commands(events).length).toBe(before);
    await expect(manager.start('broken')).rejects.toMatchObject({ code: 'ENV_BUILD_FAILED' }); // start retries
    expect(commands(events).length).toBeGreaterThan(before);
    expect(envDirs(home)).toEqual([]);
  });

  it('close() during a build kills the installer and leaves no temp dir', async () => {
    const recipes = writeRecipe(tempDir(), { name: 'alpha', dependencies: ['pk-alpha'] });
    const home = tempDir();
    const manager = envManager(recipes, { home, uv: SLOW_UV, env: { SLOW_UV_DELAY: '30' } });
    const events = recordEvents(manager);
    const call = manager.call('alpha', {}).catch((e: unknown) => e);
    while (!events.some((e) => e.event === 'env.progress' && e.phase === 'resolving')) await sleep(20);
    await manager.close();
    expect(await call).toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(envDirs(home)).toEqual([]);
  });

  it('gc removes only envs no recipe references, never one in use or being built', async () => {
    const recipes = tempDir();
    writeRecipe(recipes, { name: 'keep', dependencies: ['pk-alpha'] });
    writeRecipe(recipes, { name: 'drop', dependencies: ['pk-gamma'] });
    writeRecipe(recipes, { name: 'busy', dependencies: ['pk-beta'] });
    const home = tempDir();
    const all = envManager(recipes, { home, idleTimeout: -1 });
    await Promise.all(['keep', 'drop', 'busy'].map((name) => all.call(name, {})));
    await all.stop({ target: 'keep' });
    await all.stop({ target: 'drop' });
    const hashes = Object.fromEntries(
      (await all.environment()).envs.map((env) => [env.dependencies?.join(','), env.hash]),
    );
    // A leftover of a killed build, and an env whose lock another process holds (a build in progress).
    const building = 'feedfacefeedface';
    writeFileSync(join(home, 'envs', `.tmp-${hashes['pk-alpha']}-dead`), '');
    mkdirSync(join(home, 'envs', building));
    const release = await lockfile.lock(join(home, 'envs', building), {
      realpath: false,
      lockfilePath: join(home, 'envs', '.locks', `${building}.lock`),
    });

    // A second manager (another daemon on the same home) that knows only "keep".
    const only = tempDir();
    writeRecipe(only, { name: 'keep', dependencies: ['pk-alpha'] });
    const other = envManager(only, { home });
    const result = await other.gc();
    await release();
    expect(result.removed).toEqual([hashes['pk-gamma']]);
    expect(result.kept).toEqual(
      expect.arrayContaining([
        { hash: hashes['pk-alpha'], reason: 'referenced' },
        { hash: hashes['pk-beta'], reason: 'in use' }, // the first manager's live pod
        { hash: building, reason: 'building' },
      ]),
    );
    expect(envDirs(home).sort()).toEqual([building, hashes['pk-alpha'], hashes['pk-beta']].sort());

    await all.stop({ all: true });
    expect((await other.gc()).removed.sort()).toEqual([building, hashes['pk-beta']].sort());
    expect(envDirs(home)).toEqual([hashes['pk-alpha']]);
  });

  it('hands a python requirement the base does not meet to uv, with downloads as configured', async () => {
    const recipes = tempDir();
    writeRecipe(recipes, {
      name: 'fits',
      dependencies: ['pk-alpha'],
      python: '>=3.9',
      modules: ['pk_alpha'],
    });
    writeRecipe(recipes, { name: 'ancient', dependencies: ['pk-alpha'], python: '<3' });
    const manager = envManager(recipes, { pythonDownloads: false });
    const events = recordEvents(manager);
    expect(await manager.call('fits', {})).toMatchObject({ versions: { pk_alpha: '1.0.0' } });
    await expect(manager.call('ancient', {})).rejects.toMatchObject({
      code: 'ENV_BUILD_FAILED',
      details: { step: 'creating the venv' },
    });
    const venv = commands(events).find((e) => e.recipe === 'ancient' && e.args[0] === 'venv');
    expect(venv?.args).toEqual(expect.arrayContaining(['--python', '<3', '--no-python-downloads']));
  });
});

describe('pieces', () => {
  it('normalizes requirements for the hash', () => {
    expect(
      normalizeRequirements(['Foo_Bar >= 1.0', 'foo-bar>=1.0', 'baz [x] ; python_version < "4"']),
    ).toEqual(['baz[x];python_version<"4"', 'foo-bar>=1.0']);
  });

  it('matches Python versions against a recipe requirement', () => {
    expect(satisfiesPythonSpec('3.11.7', '>=3.9')).toBe(true);
    expect(satisfiesPythonSpec('3.11.7', '>=3.9,<3.11')).toBe(false);
    expect(satisfiesPythonSpec('3.11.7', '~=3.10')).toBe(true);
    expect(satisfiesPythonSpec('3.11.7', '~=3.10.1')).toBe(false);
    expect(satisfiesPythonSpec('3.11.7', '==3.11.*')).toBe(true);
    expect(satisfiesPythonSpec('3.11.7', '3.12')).toBe(false);
    expect(satisfiesPythonSpec('3.11.7', 'cpython@3.11')).toBeUndefined();
  });

  it('finds the failing requirement in uv’s message and reads its progress lines', () => {
    const message = 'Because pk-missing was not found in the cache and you require pk-missing, ...';
    expect(failingRequirement(['pk-alpha', 'PK_Missing>=1'], message)).toBe('PK_Missing>=1');
    expect(failingRequirement(['six>=99'], 'Because only six<=1.17.0 is available')).toBe('six>=99');
    expect(parseInstallerLine(' + six==1.17.0')).toEqual({ phase: 'installing', message: '+ six==1.17.0' });
    expect(parseInstallerLine('Resolved 2 packages in 3ms')?.phase).toBe('resolving');
    expect(parseInstallerLine('Using Python 3.11.7 environment at: x')).toBeUndefined();
  });
});
