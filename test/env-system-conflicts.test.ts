/**
 * System mode never upgrades or downgrades a package the system Python already has. A recipe whose
 * requirements conflict with it (a different pin, or one that would upgrade) gets a layered venv
 * (`--system-site-packages`) holding only what differs, so the image's packages stay shared and
 * untouched, and every recipe keeps the versions it asked for across restarts.
 *
 * The "system" Python is a standalone copy of the test interpreter made here (its binary copied,
 * its standard library linked, an empty site-packages of its own): a venv would not do, since a
 * venv layered on a venv sees the base interpreter's packages, not the venv's. Offline, from a
 * wheelhouse of made-up `pk-fixture-six` versions.
 */

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fileTempDir,
  installs,
  makeWheels,
  type ProbeResult,
  PYTHON,
  WHEELS,
  writeRecipe,
} from './fixtures/env/helpers.js';
import { createManager, recordEvents, tempDir } from './helpers.js';

const SIX = (version: string) => ({ name: 'pk-fixture-six', version });
const wheelhouse = makeWheels(fileTempDir('podkeeper-wheels-'), [
  ...WHEELS,
  SIX('1.15.0'),
  SIX('1.16.0'),
  SIX('1.17.0'),
]);
const uvCache = fileTempDir('podkeeper-uv-cache-');
const offline = { UV_OFFLINE: '1', UV_CACHE_DIR: uvCache, UV_NO_CONFIG: '1' };

interface SystemPython {
  python: string;
  prefix: string;
  site: string;
}

/** A standalone interpreter at `dir` with its own empty site-packages, then `packages` installed. */
function standalonePython(dir: string, packages: string[]): SystemPython {
  const facts = JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        'import json, os, sys, sysconfig; print(json.dumps([os.path.realpath(sys._base_executable), ' +
          'sysconfig.get_paths()["stdlib"]]))',
      ],
      { encoding: 'utf8' },
    ),
  ) as [string, string];
  const [binary, stdlib] = facts;
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const python = join(dir, 'bin', basename(binary));
  copyFileSync(binary, python);
  const lib = join(dir, 'lib', basename(stdlib));
  mkdirSync(join(lib, 'site-packages'), { recursive: true });
  for (const entry of readdirSync(stdlib)) {
    if (entry !== 'site-packages') symlinkSync(join(stdlib, entry), join(lib, entry));
  }
  const site = join(lib, 'site-packages');
  const found = execFileSync(python, ['-c', 'import site; print(site.getsitepackages()[0])'], {
    encoding: 'utf8',
  }).trim();
  expect(found).toBe(site);
  execFileSync(
    'uv',
    ['pip', 'install', '-q', '--system', '--python', python, '--find-links', wheelhouse, ...packages],
    { env: { ...process.env, ...offline } },
  );
  return { python, prefix: dir, site };
}

/** The distributions installed in a site-packages folder. */
function dists(site: string): string[] {
  return readdirSync(site)
    .filter((name) => name.endsWith('.dist-info'))
    .sort();
}

describe('system mode: requirements that conflict with the system Python', () => {
  it('leaves the system packages alone and gives each conflicting recipe a layered venv of what differs', {
    timeout: 60_000,
  }, async () => {
    const system = standalonePython(join(tempDir(), 'image'), ['pk-fixture-six==1.16.0', 'pk-alpha==1.0.0']);
    const before = dists(system.site);
    const root = tempDir();
    const modules = ['pk_fixture_six', 'pk_alpha', 'pk_gamma'];
    writeRecipe(root, {
      name: 'pinned',
      dependencies: ['pk-fixture-six==1.16.0'],
      modules: modules.slice(0, 1),
    });
    writeRecipe(root, {
      name: 'older',
      dependencies: ['pk-fixture-six==1.15.0', 'pk-alpha', 'pk-gamma'],
      modules,
    });
    writeRecipe(root, { name: 'newer', dependencies: ['pk-fixture-six>1.16'], modules: modules.slice(0, 1) });
    const home = tempDir();
    const options = { envMode: 'system' as const, python: system.python, recipePath: [root], wheelhouse };
    const manager = createManager({ ...options, home, env: offline });
    const events = recordEvents(manager);

    const pinned = (await manager.call('pinned', {})) as ProbeResult;
    expect(pinned.versions).toEqual({ pk_fixture_six: '1.16.0' });
    expect(pinned.prefix).toBe(system.prefix);

    // A downgrade: the recipe gets 1.15.0 from a layered venv that holds only it and the missing pk-gamma.
    const older = (await manager.call('older', {})) as ProbeResult;
    expect(older.versions).toEqual({ pk_fixture_six: '1.15.0', pk_alpha: '1.0.0', pk_gamma: '0.3.0' });
    expect(older.prefix.startsWith(join(home, 'envs'))).toBe(true);
    const layeredSite = join(older.prefix, 'lib', basename(join(system.site, '..')), 'site-packages');
    expect(dists(layeredSite)).toEqual(['pk_fixture_six-1.15.0.dist-info', 'pk_gamma-0.3.0.dist-info']);

    // An upgrade is no different.
    const newer = (await manager.call('newer', {})) as ProbeResult;
    expect(newer.versions).toEqual({ pk_fixture_six: '1.17.0' });
    expect(newer.prefix.startsWith(join(home, 'envs'))).toBe(true);

    // The first recipe, started again, still has what it had; the image's packages are untouched.
    await manager.stop({ all: true });
    expect(((await manager.call('pinned', {})) as ProbeResult).versions).toEqual({
      pk_fixture_six: '1.16.0',
    });
    expect(dists(system.site)).toEqual(before);
    expect(installs(events).filter((e) => e.args.includes('--system'))).toEqual([]);

    // A restarted daemon reuses the layered envs: nothing is installed again.
    const again = createManager({ ...options, home, env: offline });
    const againEvents = recordEvents(again);
    expect(((await again.call('older', {})) as ProbeResult).versions).toMatchObject({
      pk_fixture_six: '1.15.0',
    });
    expect(((await again.call('pinned', {})) as ProbeResult).versions).toEqual({ pk_fixture_six: '1.16.0' });
    expect(installs(againEvents)).toEqual([]);
    expect(dists(system.site)).toEqual(before);
  });

  it('does the same with pip when there is no uv', { timeout: 60_000 }, async () => {
    const system = standalonePython(join(tempDir(), 'image'), ['pk-fixture-six==1.16.0', 'pk-alpha==1.0.0']);
    execFileSync(system.python, ['-m', 'ensurepip', '--default-pip'], { stdio: 'ignore' });
    const before = dists(system.site);
    const root = tempDir();
    writeRecipe(root, { name: 'missing', dependencies: ['pk-gamma'], modules: ['pk_gamma'] });
    writeRecipe(root, {
      name: 'older',
      dependencies: ['pk-fixture-six==1.15.0', 'pk-alpha'],
      modules: ['pk_fixture_six', 'pk_alpha'],
    });
    const manager = createManager({
      envMode: 'system',
      python: system.python,
      recipePath: [root],
      wheelhouse,
      // no uv on PATH, and pip may not reach an index to install one
      env: { ...offline, PATH: '/usr/bin:/bin', PIP_NO_INDEX: '1' },
    });
    expect(((await manager.call('missing', {})) as ProbeResult).versions).toEqual({ pk_gamma: '0.3.0' });
    const older = (await manager.call('older', {})) as ProbeResult;
    expect(older.versions).toEqual({ pk_fixture_six: '1.15.0', pk_alpha: '1.0.0' });
    expect(older.prefix).not.toBe(system.prefix);
    expect((await manager.environment()).installer).toMatchObject({ kind: 'pip' });
    // Only the missing pk-gamma went into the system; its six is still 1.16.0.
    expect(dists(system.site)).toEqual([...before, 'pk_gamma-0.3.0.dist-info'].sort());
    const layeredSite = join(older.prefix, 'lib', basename(join(system.site, '..')), 'site-packages');
    const own = dists(layeredSite).filter((name) => !/^(pip|setuptools)-/.test(name)); // python -m venv's own
    expect(own).toEqual(['pk_fixture_six-1.15.0.dist-info']);
  });
});
