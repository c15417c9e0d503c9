/**
 * A real `podkeeper` command on PATH: `npm install -g .` from the checkout (the README's install
 * step), into a throwaway npm prefix, then the command run from another folder, where `npx
 * podkeeper` would ask the public registry instead. The install is a link to this checkout, so it
 * runs the built dist/ and finds the checkout's .tools/ Node on an older machine Node.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, ROOT } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('podkeeper installed with npm install -g', () => {
  it('puts a working `podkeeper` on PATH, usable from any folder', () => {
    const prefix = tempDir('pk-prefix-');
    const env = childEnv({
      npm_config_prefix: prefix,
      npm_config_cache: tempDir('pk-npm-cache-'),
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    });
    const installed = spawnSync('npm', ['install', '-g', '--ignore-scripts', '--offline', '.'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(installed.status, installed.stderr).toBe(0);
    const bin = join(prefix, 'bin', 'podkeeper');
    expect(existsSync(bin)).toBe(true);

    const elsewhere = tempDir('pk-elsewhere-');
    const home = tempDir('pk-home-');
    const user = {
      ...env,
      PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`,
      PODKEEPER_HOME: home,
    };
    const run = (...args: string[]) =>
      spawnSync('podkeeper', args, { cwd: elsewhere, env: user, encoding: 'utf8', timeout: 60_000 });

    expect(run('--version')).toMatchObject({ status: 0, stdout: `${version}\n` });
    // The command the hints name is the one on PATH: `status` without a daemon says how to start one.
    const status = run('status');
    expect(status.status).toBe(3);
    expect(status.stderr).toMatch(/^DAEMON_NOT_RUNNING: .* Start one with: podkeeper daemon --home /);
    // And it does real work from there: a built-in recipe, in-process.
    const echoed = run('run', 'echo', '{"text":"hi"}');
    expect(echoed.status, echoed.stderr).toBe(0);
    expect(JSON.parse(echoed.stdout)).toEqual({ text: 'hi' });
  });
});
