/**
 * Secrets stay where they belong: a pod gets the daemon's environment only as far as its recipe asks
 * (`passEnv`) beyond a documented base set, and credentials (secret-named variables' values, the
 * user:password of a URL) never appear in daemon.log, the daemon's stderr, `status`, `logs`, events
 * or errors. A real daemon, real pods, a real uv that fails to fetch a requirement URL.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact } from '../src/redact.js';
import { rawConnect, runCli, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

const SECRETS = {
  HF_TOKEN: 'hf_SeCrEt0001value',
  MY_SERVICE_API_KEY: 'key_SeCrEt0002value',
  DB_SECRET: 'db_SeCrEt0003value',
  GITHUB_TOKEN: 'gh_SeCrEt0004value',
  UV_INDEX_URL: 'https://alice:idx_SeCrEt0005value@127.0.0.1:9/simple',
};
const URL_TOKEN = 'url_SeCrEt0006value';
const CRASH_TOKEN = 'crash_SeCrEt0007value';
const ALL = [...Object.values(SECRETS).slice(0, 4), 'idx_SeCrEt0005value', URL_TOKEN, CRASH_TOKEN];

/** A recipe that prints its secret and a URL with a password on stderr, then dies at import. */
const CRASHING_POD = `import os, sys
print("cannot reach https://carol:${CRASH_TOKEN}@127.0.0.1:9/ with " + os.environ["HF_TOKEN"], file=sys.stderr)
sys.exit(3)
`;

/** A recipe that returns its pod's environment and logs what HF_TOKEN it sees. */
const POD = `import os, sys

def setup(ctx):
    print("setup sees HF_TOKEN=" + os.environ.get("HF_TOKEN", "none"), file=sys.stderr, flush=True)

def process(payload, ctx):
    return dict(os.environ)
`;

function writeRecipes(): string {
  const root = tempDir();
  const recipe = (name: string, fields: Record<string, unknown>) => {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'pod.py'), POD);
    writeFileSync(
      join(root, name, 'recipe.json'),
      JSON.stringify({ name, capability: name, entry: 'pod.py', ...fields }),
    );
  };
  recipe('plain', {});
  recipe('needs-token', { passEnv: ['HF_TOKEN'] });
  recipe('leaky-crash', { passEnv: ['HF_TOKEN'] });
  writeFileSync(join(root, 'leaky-crash', 'pod.py'), CRASHING_POD);
  recipe('private-dep', {
    dependencies: [`pk-private @ https://bob:${URL_TOKEN}@127.0.0.1:9/pk_private-1.0-py3-none-any.whl`],
  });
  return root;
}

function leaks(text: string): string[] {
  return ALL.filter((secret) => text.includes(secret));
}

describe('secrets', () => {
  it('redact hides URL credentials and the values of secret-named variables', () => {
    expect(redact('pk @ https://bob:tok@host/x.whl and git+https://tok2@github.com/a/b')).toBe(
      'pk @ https://***@host/x.whl and git+https://***@github.com/a/b',
    );
    expect(redact('nothing to hide: https://host/x.whl user@example.com')).toBe(
      'nothing to hide: https://host/x.whl user@example.com',
    );
  });

  it('pods get only what their recipe asks for; no credential reaches a log, status, logs or an error', {
    timeout: 60_000,
  }, async () => {
    const daemon = await startDaemon({
      args: ['--env-mode', 'venv', '--log-level', 'debug'],
      env: { ...SECRETS, PODKEEPER_RECIPE_PATH: writeRecipes(), UV_OFFLINE: '1', UV_NO_CONFIG: '1' },
    });
    const home = ['--home', daemon.home];
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'events', action: 'events.subscribe', payload: {} });

    const plain = await runCli(['call', 'plain', '{}', ...home]);
    expect(plain.code).toBe(0);
    const plainEnv = JSON.parse(plain.stdout) as Record<string, string>;
    expect(Object.keys(plainEnv)).not.toEqual(expect.arrayContaining(['HF_TOKEN']));
    expect(leaks(plain.stdout)).toEqual([]);
    expect(plainEnv['PATH']).toBeTruthy();
    expect(plainEnv['PODKEEPER_POD_ID']).toBeTruthy();

    const asked = await runCli(['call', 'needs-token', '{}', ...home]);
    expect(asked.code).toBe(0);
    const askedEnv = JSON.parse(asked.stdout) as Record<string, string>;
    expect(askedEnv['HF_TOKEN']).toBe(SECRETS.HF_TOKEN);
    expect(askedEnv['MY_SERVICE_API_KEY']).toBeUndefined();

    const failed = await runCli(['call', 'private-dep', '{}', ...home]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/ENV_BUILD_FAILED/);
    expect(failed.stderr).toContain('https://***@127.0.0.1:9/pk_private');
    expect(leaks(failed.stderr)).toEqual([]);

    const crashed = await runCli(['call', 'leaky-crash', '{}', '--json', ...home]);
    expect(crashed.stderr).toMatch(/POD_CRASHED/);
    const crashEvent = await client.waitFor((line) => line['event'] === 'pod.crashed');
    expect(JSON.stringify(crashEvent)).toContain('cannot reach https://***@127.0.0.1:9/ with ***');
    const crashLogs = await runCli(['logs', 'leaky-crash', '--json', ...home]);

    const logs = await runCli(['logs', 'needs-token', '--json', ...home]);
    expect(logs.stdout).toContain('setup sees HF_TOKEN=***');
    const status = await runCli(['status', '--json', ...home]);
    expect(status.code).toBe(0);
    const commands = client.received.filter((line) => JSON.stringify(line).includes('env.command'));
    expect(commands.length).toBeGreaterThan(0);

    for (const [what, text] of [
      ['logs', logs.stdout],
      ['a crashed pod: its call, its logs', crashed.stdout + crashed.stderr + crashLogs.stdout],
      ['status', status.stdout],
      ['events', JSON.stringify(client.received)],
      ['daemon stderr', daemon.stderr()],
      ['daemon.log', readFileSync(join(daemon.home, 'logs', 'daemon.log'), 'utf8')],
    ] as const) {
      expect(leaks(text), `secrets in ${what}`).toEqual([]);
    }
  });
});
