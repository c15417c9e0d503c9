/**
 * System mode against a "system" interpreter this file makes (a uv venv standing in for a Docker
 * image's Python), system packages, installer discovery and the pip fallback, the subprocess helper,
 * and pods/run-pod.sh. All offline, from a wheelhouse made here.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverInstaller, type Run } from '../src/env/installer.js';
import { ensureSystemPackages } from '../src/env/system-packages.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { runCommand } from '../src/process/command.js';
import {
  commands,
  fileTempDir,
  installs,
  makeWheels,
  offlineEnvOptions,
  type ProbeResult,
  PYTHON,
  WHEELS,
  writeRecipe,
} from './fixtures/env/helpers.js';
import { createManager, eventually, ourProcesses, RUN_MARKER, recordEvents, tempDir } from './helpers.js';

const wheelhouse = makeWheels(fileTempDir('podkeeper-wheels-'));
const uvCache = fileTempDir('podkeeper-uv-cache-');
const offline = { UV_OFFLINE: '1', UV_CACHE_DIR: uvCache, UV_NO_CONFIG: '1', PYTHONDONTWRITEBYTECODE: '1' };

const run: Run = (command, args, extra = {}) =>
  runCommand(command, args, {
    env: { ...process.env, PODKEEPER_TEST_RUN: RUN_MARKER, ...extra.env },
    onLine: extra.onLine,
  });

/** A fresh "system" Python (a uv venv) with pk-alpha 1.0.0 already installed, like an image's torch. */
function systemPython(): string {
  const dir = join(tempDir(), 'system');
  const env = { ...process.env, ...offline };
  execFileSync('uv', ['venv', '-q', dir, '--python', PYTHON], { env });
  const python = join(dir, 'bin', 'python');
  execFileSync(
    'uv',
    ['pip', 'install', '-q', '--python', python, '--find-links', wheelhouse, 'pk-alpha==1.0.0'],
    { env },
  );
  return python;
}

describe('system mode', () => {
  it('installs only the missing requirements into the system Python; a second run does no work', async () => {
    const python = systemPython();
    const site = join(
      python,
      '..',
      '..',
      'lib',
      readdirSync(join(python, '..', '..', 'lib'))[0] ?? '',
      'site-packages',
    );
    const alphaBefore = statSync(join(site, 'pk_alpha', '__init__.py')).mtimeMs;
    // A newer pk-alpha is available, and still the installed one is kept (as an image's torch would be).
    const newer = makeWheels(tempDir(), [...WHEELS, { name: 'pk-alpha', version: '1.1.0' }]);
    const recipes = writeRecipe(tempDir(), {
      name: 'sys',
      dependencies: ['pk-alpha', 'pk-gamma'],
      modules: ['pk_alpha', 'pk_gamma'],
    });
    const options = { envMode: 'system' as const, python, recipePath: [recipes], env: offline };
    const home = tempDir();
    const manager = createManager({ ...options, home, wheelhouse: newer });
    const events = recordEvents(manager);
    const result = (await manager.call('sys', {})) as ProbeResult;
    expect(result.versions).toEqual({ pk_alpha: '1.0.0', pk_gamma: '0.3.0' });
    expect(result.prefix).toBe(join(python, '..', '..'));
    const [install, ...more] = installs(events);
    expect(more).toEqual([]);
    expect(install?.args).toEqual(expect.arrayContaining(['--system', '--python-preference', 'only-system']));
    const lines = events.flatMap((e) =>
      e.event === 'env.progress' && e.phase === 'installing' ? [e.message] : [],
    );
    expect(lines.filter((line) => line.startsWith('+') || line.startsWith('-'))).toEqual([
      '+ pk-gamma==0.3.0',
    ]);
    expect(statSync(join(site, 'pk_alpha', '__init__.py')).mtimeMs).toBe(alphaBefore);
    // Compiled at install time, so no pod start compiles it (PYTHONDONTWRITEBYTECODE=1 is set).
    expect(readdirSync(join(site, 'pk_gamma', '__pycache__'))).toEqual([
      expect.stringMatching(/^__init__\.cpython-\d+\.pyc$/),
    ]);
    expect(
      events.some(
        (e) => e.event === 'env.progress' && e.phase === 'compiling' && /^Bytecode compiled/.test(e.message),
      ),
    ).toBe(true);
    expect(
      existsSync(join(home, 'envs')) ? readdirSync(join(home, 'envs')).filter((n) => n !== '.locks') : [],
    ).toEqual([]);

    // Second spawn in the same manager: nothing runs at all.
    await manager.stop({ all: true });
    const count = commands(events).length;
    await manager.call('sys', {});
    expect(commands(events).length).toBe(count);

    // A new manager (a restarted daemon): one offline probe, no install.
    const again = createManager({ ...options, home: tempDir(), wheelhouse: newer });
    const againEvents = recordEvents(again);
    expect(await again.call('sys', {})).toMatchObject({ versions: { pk_alpha: '1.0.0', pk_gamma: '0.3.0' } });
    expect(installs(againEvents)).toEqual([]);
    expect(commands(againEvents).filter((e) => e.args.includes('--dry-run'))).toHaveLength(1);
    expect((await again.environment()).mode).toBe('system');
  });

  it('refuses a recipe whose python requirement the system Python does not meet', async () => {
    const recipes = writeRecipe(tempDir(), { name: 'future', dependencies: ['pk-alpha'], python: '>=4' });
    const manager = createManager({ envMode: 'system', recipePath: [recipes], env: offline });
    await expect(manager.call('future', {})).rejects.toMatchObject({
      code: 'ENV_BUILD_FAILED',
      message: expect.stringMatching(/needs Python >=4.*system Python/s),
    });
  });
});

describe('system packages', () => {
  it('passes when they are present; otherwise lists the missing ones and how to install them', async () => {
    const progress = () => undefined;
    const path = process.env['PATH'] ?? '';
    await ensureSystemPackages({ recipe: 'r', packages: ['sh'], run, path, mayInstall: false, progress });
    const error = await ensureSystemPackages({
      recipe: 'r',
      packages: ['sh', 'podkeeper-no-such-tool', 'podkeeper-nor-this'],
      run,
      path,
      mayInstall: false,
      progress,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENV_BUILD_FAILED' });
    expect((error as Error).message).toContain('not installed: podkeeper-no-such-tool, podkeeper-nor-this');
    expect((error as Error).message).toContain(
      'apt-get install -y podkeeper-no-such-tool podkeeper-nor-this',
    );
  });
});

describe('installer discovery', () => {
  it('takes PODKEEPER_UV (or the uv option) first, then PATH, and refuses a broken explicit one', async () => {
    const home = tempDir();
    const base = { home, python: PYTHON, run, install: false, path: process.env['PATH'] ?? '' };
    const onPath = await discoverInstaller({ ...base, explicit: undefined });
    expect(onPath).toMatchObject({ kind: 'uv', source: 'PATH', version: expect.stringMatching(/^\d+\.\d+/) });
    expect(onPath.kind === 'uv' && onPath.path).not.toContain('/shims/');
    const explicit = onPath.kind === 'uv' ? onPath.path : '';
    expect(await discoverInstaller({ ...base, explicit, path: '' })).toMatchObject({ source: 'option' });
    await expect(discoverInstaller({ ...base, explicit: '/nonexistent/uv' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    expect(await discoverInstaller({ ...base, explicit: undefined, path: '/nonexistent' })).toMatchObject({
      kind: 'pip',
    });
  });

  it('without uv and without a way to install it, builds envs with python -m venv + pip', {
    timeout: 60_000,
  }, async () => {
    const recipes = writeRecipe(tempDir(), {
      name: 'pipped',
      dependencies: ['pk-beta'],
      modules: ['pk_beta'],
    });
    const home = tempDir();
    const manager = createManager({
      ...offlineEnvOptions(wheelhouse, uvCache),
      home,
      recipePath: [recipes],
      // no uv on PATH, and pip may not reach an index to install one
      env: { ...offline, PATH: '/usr/bin:/bin', PIP_NO_INDEX: '1' },
    });
    const events = recordEvents(manager);
    const result = (await manager.call('pipped', {})) as ProbeResult;
    expect(result.versions).toEqual({ pk_beta: '2.0.0' });
    expect(result.prefix).toContain(join(home, 'envs'));
    expect((await manager.environment()).installer).toMatchObject({ kind: 'pip', source: 'fallback' });
    // It tried to install uv first (pip cannot reach an index), then made the venv with the stdlib.
    const pipInstall = commands(events).find((e) => e.args.includes('--target'));
    expect(pipInstall, 'the attempt to install uv with pip').toBeDefined();
    expect(pipInstall?.exitCode).toEqual(expect.any(Number));
    expect(pipInstall?.exitCode).not.toBe(0);
    const venv = commands(events).find((e) => e.args.join(' ').startsWith('-m venv'));
    expect(venv, 'python -m venv').toMatchObject({ exitCode: 0 });
  });
});

describe('subprocess helper', () => {
  it('kills the whole process tree on timeout and keeps the output for the error', async () => {
    const result = await runCommand('sh', ['-c', 'echo started; sleep 30 & sleep 30'], {
      env: { ...process.env, PODKEEPER_TEST_RUN: RUN_MARKER },
      timeoutMs: 300,
    });
    expect(result).toMatchObject({ timedOut: true, outputTail: ['started'] });
    expect(await eventually(() => ourProcesses().length === 0, 3000)).toBe(true);
  });
});

describe('run-pod.sh', () => {
  function runPod(dir: string, env: Record<string, string>): Promise<{ lines: unknown[]; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(PACKAGE_ROOT, 'pods', 'run-pod.sh'), [dir], {
        env: { ...process.env, ...env, PODKEEPER_TEST_RUN: RUN_MARKER },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.stdin.end(`${JSON.stringify({ id: '1', action: 'process', payload: {} })}\n`);
      child.on('error', reject);
      child.on('exit', () =>
        resolve({
          lines: stdout
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as unknown),
          stderr,
        }),
      );
    });
  }

  it('builds the recipe’s venv with uv, answers JSON lines, and reuses the venv next time', {
    timeout: 60_000,
  }, async () => {
    const recipes = writeRecipe(tempDir(), {
      name: 'handy',
      dependencies: ['pk-beta'],
      modules: ['pk_beta'],
    });
    const dir = join(recipes, 'handy');
    const env = { ...offline, PODKEEPER_WHEELHOUSE: wheelhouse };
    const first = await runPod(dir, env);
    expect(first.lines[0]).toMatchObject({ type: 'ready', capability: 'handy' });
    expect(first.lines[1]).toMatchObject({
      id: '1',
      success: true,
      result: { versions: { pk_beta: '2.0.0' } },
    });
    expect((first.lines[1] as { result: ProbeResult }).result.prefix).toBe(join(dir, '.venv'));
    expect(first.stderr).toContain('building');
    const second = await runPod(dir, env);
    expect(second.lines[1]).toMatchObject({ success: true });
    expect(second.stderr).not.toContain('building');
  });
});
