/**
 * `podkeeper config`: the effective configuration with the source of each value, each layer winning
 * over the ones below it (flag > env > config.json > default), run as the real command.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_FIELDS } from '../src/daemon/config.js';
import { runCli } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

interface Shown {
  file: string;
  settings: Record<string, { value: unknown; source: string }>;
}

async function config(home: string, args: string[] = [], env: Record<string, string> = {}): Promise<Shown> {
  const result = await runCli(['config', '--json', '--home', home, ...args], {
    env: { PODKEEPER_RECIPE_PATH: undefined, ...env },
  });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Shown;
}

describe('podkeeper config', () => {
  it('shows each value with its source; flag > env > config.json > default', async () => {
    const home = tempDir('pk-home-');
    const file = join(home, 'config.json');
    expect((await config(home)).settings['idleTimeout']).toEqual({ value: 300, source: 'default' });

    writeFileSync(file, JSON.stringify({ idleTimeout: 42, logLevel: 'debug', envBuildTimeout: 900 }));
    let shown = await config(home);
    expect(shown.file).toBe(file);
    expect(shown.settings['idleTimeout']).toEqual({ value: 42, source: file });

    shown = await config(home, [], { PODKEEPER_IDLE_TIMEOUT: '7' });
    expect(shown.settings['idleTimeout']).toEqual({ value: 7, source: 'env PODKEEPER_IDLE_TIMEOUT' });
    expect(shown.settings['logLevel']).toEqual({ value: 'debug', source: file });

    shown = await config(home, ['--idle-timeout', '3'], { PODKEEPER_IDLE_TIMEOUT: '7' });
    expect(shown.settings['idleTimeout']).toEqual({ value: 3, source: '--idle-timeout' });
    expect(shown.settings['envBuildTimeout']).toEqual({ value: 900, source: file });
    expect(shown.settings['home']).toEqual({ value: home, source: '--home' });
    expect(shown.settings['socket']).toEqual({ value: join(home, 'podkeeper.sock'), source: 'default' });
  });

  it('lists every config.json field, zygotes included', async () => {
    const home = tempDir('pk-home-');
    writeFileSync(join(home, 'config.json'), JSON.stringify({ zygotes: false }));
    const shown = await config(home);
    expect(shown.settings['zygotes']).toEqual({ value: false, source: join(home, 'config.json') });
    expect(Object.keys(shown.settings).sort()).toEqual(['home', ...CONFIG_FILE_FIELDS].sort());
  });

  it('hides secrets in env, and refuses a bad value as the daemon would (INVALID_OPTION, exit 2)', async () => {
    const home = tempDir('pk-home-');
    const file = join(home, 'config.json');
    writeFileSync(file, JSON.stringify({ env: { HF_TOKEN: 'hf_0123456789abcdef', REGION: 'eu' } }));
    chmodSync(file, 0o600);
    expect((await config(home)).settings['env']).toEqual({
      value: { HF_TOKEN: '***', REGION: 'eu' },
      source: file,
    });

    const table = await runCli(['config', '--home', home], { env: { PODKEEPER_IDLE_TIMEOUT: '-5' } });
    expect(table.code).toBe(2);
    expect(table.stderr).toMatch(/^INVALID_OPTION: .*`idleTimeout` \(from env PODKEEPER_IDLE_TIMEOUT\)/);
  });

  it('prints a table for people, naming the order of the layers', async () => {
    const home = tempDir('pk-home-');
    const result = await runCli(['config', '--home', home, '--max-memory', '512']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^maxMemoryMB +512 +--max-memory$/m);
    expect(result.stdout).toContain(
      `Order: flags > env (PODKEEPER_*) > ${join(home, 'config.json')} > defaults.`,
    );
  });
});
