/**
 * Env builds across real processes sharing one home: two podkeeper processes build an env once
 * (the file lock), and a process killed in the middle of a build leaves nothing a later one would
 * use: its temp dir and stale lock are cleaned up and the env is rebuilt.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ManagerEvent, PodManagerOptions } from '../src/index.js';
import {
  built,
  ENV_FIXTURES,
  fileTempDir,
  makeWheels,
  offlineEnvOptions,
  type ProbeResult,
  SLOW_UV,
  writeRecipe,
} from './fixtures/env/helpers.js';
import {
  createManager,
  eventually,
  FIXTURE_RECIPES,
  onCleanup,
  ourProcesses,
  RUN_MARKER,
  recordEvents,
  tempDir,
} from './helpers.js';
import { commandLine } from './processes.js';

const wheelhouse = makeWheels(fileTempDir('podkeeper-wheels-'));
const uvCache = fileTempDir('podkeeper-uv-cache-');

interface Child {
  process: ChildProcess;
  lines: Record<string, unknown>[];
  done: Promise<void>;
}

/** Another podkeeper process (TypeScript sources run by node), calling `target` once. */
function daemon(options: PodManagerOptions, target: string): Child {
  const child = spawn(
    process.execPath,
    [
      '--import',
      join(ENV_FIXTURES, 'ts-hooks.mjs'),
      join(ENV_FIXTURES, 'daemon-child.ts'),
      JSON.stringify({ options, target }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PODKEEPER_TEST_RUN: RUN_MARKER } },
  );
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  onCleanup(async () => {
    child.kill('SIGKILL');
    await done;
  });
  return { process: child, lines, done };
}

function childOptions(home: string, recipes: string, delay: string): PodManagerOptions {
  const base = offlineEnvOptions(wheelhouse, uvCache);
  return {
    ...base,
    home,
    recipePath: [recipes],
    builtinRecipes: false,
    uv: SLOW_UV,
    env: { ...base.env, SLOW_UV_DELAY: delay, PODKEEPER_TEST_RUN: RUN_MARKER },
  };
}

describe('across processes', () => {
  it('two podkeeper processes sharing a home build an env once', { timeout: 60_000 }, async () => {
    const recipes = writeRecipe(tempDir(), {
      name: 'shared',
      dependencies: ['pk-beta'],
      modules: ['pk_beta'],
    });
    const home = tempDir();
    const options = childOptions(home, recipes, '1');
    const [a, b] = [daemon(options, 'shared'), daemon(options, 'shared')];
    await Promise.all([a.done, b.done]);
    const results = [a, b].map(
      (child) => child.lines.find((line) => 'result' in line)?.['result'] as ProbeResult,
    );
    expect(results.map((r) => r?.versions)).toEqual([{ pk_beta: '2.0.0' }, { pk_beta: '2.0.0' }]);
    expect(results[0]?.prefix).toBe(results[1]?.prefix);
    const events = [...a.lines, ...b.lines] as ManagerEvent[];
    expect(built(events)).toHaveLength(1);
    expect(events.filter((e) => e.event === 'env.progress' && e.phase === 'waiting')).toHaveLength(1);
  });

  it('a process killed halfway through a build leaves nothing that is used; the next one rebuilds', {
    timeout: 60_000,
  }, async () => {
    const recipes = writeRecipe(tempDir(), {
      name: 'victim',
      dependencies: ['pk-gamma'],
      modules: ['pk_gamma'],
    });
    const home = tempDir();
    const child = daemon(childOptions(home, recipes, '30'), 'victim');
    const deadline = Date.now() + 20_000;
    // Wait until the installer runs (held back by slow-uv's sleep).
    const installing = () => ourProcesses().some((pid) => commandLine(pid)?.split(' ')[0] === 'sleep');
    while (!installing()) {
      if (Date.now() > deadline) throw new Error('the child never started installing');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // kill -9 the daemon and everything it started (its installer runs in a group of its own)
    for (const pid of ourProcesses()) process.kill(pid, 'SIGKILL');
    await child.done;
    expect(await eventually(() => ourProcesses().length === 0)).toBe(true);
    const envs = join(home, 'envs');
    const left = readdirSync(envs);
    expect(left.filter((name) => name.startsWith('.tmp-'))).toHaveLength(1); // the half-built venv
    const locks = readdirSync(join(envs, '.locks'));
    expect(locks).toHaveLength(1);
    // The dead holder no longer refreshes its lock; age it past the stale threshold (10 s).
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(envs, '.locks', locks[0] ?? ''), old, old);

    const manager = createManager({
      ...offlineEnvOptions(wheelhouse, uvCache),
      home,
      recipePath: [recipes, FIXTURE_RECIPES],
    });
    const events = recordEvents(manager);
    expect(await manager.call('victim', {})).toMatchObject({ versions: { pk_gamma: '0.3.0' } });
    expect(built(events)).toHaveLength(1);
    expect(readdirSync(envs).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    expect(existsSync(join(envs, '.locks', locks[0] ?? ''))).toBe(false);
  });
});
