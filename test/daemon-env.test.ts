/**
 * The daemon and the Python environments: the env settings go through the daemon's configuration
 * (flags > env > config.json, validated), `status` reports the mode in force and the installer, and
 * `podkeeper gc` removes the envs no recipe needs. Real daemons, real uv, offline (a wheelhouse).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDaemonConfig } from '../src/daemon/config.js';
import { bytesFreedByRemoving } from '../src/env/disk-usage.js';
import type { StatusResult } from '../src/protocol/control-results.js';
import { runCli, startDaemon } from './daemon-helpers.js';
import { fileTempDir, makeWheels, writeRecipe } from './fixtures/env/helpers.js';
import { tempDir } from './helpers.js';

const UV = execFileSync('sh', ['-c', 'command -v uv'], { encoding: 'utf8' }).trim();

describe('daemon env configuration', () => {
  it('layers envMode, uv, wheelhouse and the env settings like every other field', () => {
    const home = tempDir();
    writeFileSync(
      join(home, 'config.json'),
      JSON.stringify({
        envMode: 'system',
        uv: 'bin/uv',
        wheelhouse: 'wheels',
        pythonDownloads: false,
        envBuildTimeout: 60,
      }),
    );
    expect(loadDaemonConfig({ home }, {})).toMatchObject({
      envMode: 'system',
      uv: join(home, 'bin', 'uv'),
      wheelhouse: join(home, 'wheels'),
      pythonDownloads: false,
      envBuildTimeout: 60,
    });
    const env = { PODKEEPER_ENV_MODE: 'venv', PODKEEPER_UV: 'uv', PODKEEPER_ENV_BUILD_TIMEOUT: '90' };
    expect(loadDaemonConfig({ home, envMode: 'auto', envBuildTimeout: '5' }, env)).toMatchObject({
      envMode: 'auto',
      uv: 'uv', // a bare name stays a command looked up on PATH
      envBuildTimeout: 5,
    });
    expect(loadDaemonConfig({ home: tempDir() }, {}).envMode).toBe('auto');
    expect(() => loadDaemonConfig({ home, envBuildTimeout: '0' }, {})).toThrow(
      /`envBuildTimeout` \(from --env-build-timeout\) .*got 0/,
    );
  });

  it('reports --env-mode venv in status, over PODKEEPER_ENV_MODE, with the uv PODKEEPER_UV names', async () => {
    const daemon = await startDaemon({
      args: ['--env-mode', 'venv'],
      env: { PODKEEPER_ENV_MODE: 'system', PODKEEPER_UV: UV },
    });
    const json = await runCli(['status', '--json', '--home', daemon.home]);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as StatusResult;
    expect(status.envMode).toBe('venv');
    expect(status.environment).toMatchObject({
      mode: 'venv',
      requestedMode: 'venv',
      installer: { kind: 'uv', path: UV, source: 'option' },
      envsDir: join(daemon.home, 'envs'),
      envs: 0,
    });
    const human = await runCli(['status', '--home', daemon.home]);
    expect(human.stdout).toMatch(/^env mode +venv$/m);
    expect(human.stdout).toMatch(/^installer +uv \d+\.\d+\.\d+, .* \(from the uv option \/ PODKEEPER_UV\)$/m);
    expect(human.stdout).toMatch(/^envs +0 in /m);
  });

  it('refuses to start on a bad PODKEEPER_ENV_MODE, naming the field', async () => {
    const daemon = await startDaemon({ env: { PODKEEPER_ENV_MODE: 'conda' }, waitReady: false });
    expect((await daemon.exited).code).toBe(2);
    expect(daemon.stderr()).toMatch(
      /INVALID_OPTION: Invalid configuration: `envMode` \(from env PODKEEPER_ENV_MODE\) .*got "conda"/,
    );
    expect(existsSync(daemon.socket)).toBe(false);
  });
});

describe('podkeeper gc', () => {
  const wheelhouse = makeWheels(fileTempDir('podkeeper-wheels-'), [
    { name: 'pk-alpha', version: '1.0.0' },
    { name: 'pk-gamma', version: '0.3.0' },
  ]);
  const uvCache = fileTempDir('podkeeper-uv-cache-');
  const offline = { UV_OFFLINE: '1', UV_CACHE_DIR: uvCache, UV_NO_CONFIG: '1' };

  it('removes an env no recipe references and keeps a referenced one', async () => {
    const kept = writeRecipe(tempDir(), { name: 'alpha', dependencies: ['pk-alpha'], modules: ['pk_alpha'] });
    const dropped = writeRecipe(tempDir(), {
      name: 'gamma',
      dependencies: ['pk-gamma'],
      modules: ['pk_gamma'],
    });
    const home = tempDir('pk-home-');
    const args = ['--env-mode', 'venv', '--wheelhouse', wheelhouse];
    const cli = (...command: string[]) => runCli([...command, '--home', home]);

    // A first daemon serves both recipes and builds both envs.
    const first = await startDaemon({
      home,
      args,
      env: { ...offline, PODKEEPER_RECIPE_PATH: `${kept}:${dropped}` },
    });
    for (const target of ['alpha', 'gamma']) {
      const called = await cli('call', target, '{}');
      expect(called).toMatchObject({ code: 0 });
      // A cold call shows its env being built (plain lines: stderr is not a terminal here).
      expect(called.stderr).toMatch(/^progress \d+% env (creating|resolving|installing)/m);
    }
    const hashes = readdirSync(join(home, 'envs')).filter((name) => /^[0-9a-f]{16}$/.test(name));
    const hashOf = (dependency: string) =>
      hashes.find((hash) =>
        readFileSync(join(home, 'envs', hash, 'podkeeper-env.json'), 'utf8').includes(`"${dependency}"`),
      ) as string;
    const [alpha, gamma] = [hashOf('pk-alpha'), hashOf('pk-gamma')];
    expect(alpha).toBeDefined();
    expect(gamma).toBeDefined();
    expect(await cli('shutdown')).toMatchObject({ code: 0 });
    await first.exited;

    // The next one is pointed at a recipe path without gamma.
    await startDaemon({ home, args, env: { ...offline, PODKEEPER_RECIPE_PATH: kept } });
    const before = JSON.parse((await cli('status', '--json')).stdout) as StatusResult;
    expect(before.environment.envs).toBe(2);
    const freeable = await bytesFreedByRemoving(join(home, 'envs', gamma));
    const gc = await cli('gc', '--json');
    expect(gc.code).toBe(0);
    expect(JSON.parse(gc.stdout)).toEqual({
      removed: [gamma],
      freedBytes: freeable,
      kept: [{ hash: alpha, reason: 'referenced' }],
    });
    // The venv's own files (python link, scripts, metadata) at least: more than its folder entries.
    expect(freeable).toBeGreaterThan(16 * 1024);
    expect(existsSync(join(home, 'envs', gamma))).toBe(false);
    expect(existsSync(join(home, 'envs', alpha, 'bin', 'python'))).toBe(true);
    expect(await cli('gc')).toMatchObject({
      code: 0,
      stdout: `kept ${alpha} (referenced)\n0 envs removed (0 B freed), 1 env kept\n`,
    });
    expect(await cli('call', 'alpha', '{}')).toMatchObject({ code: 0 });
  });
});
