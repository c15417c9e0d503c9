/**
 * One home and one reading of the `PODKEEPER_*` environment for the library, the daemon and the
 * client: the same rule (XDG_DATA_HOME included), and an empty variable never means the current
 * directory.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadDaemonConfig } from '../src/daemon/config.js';
import { defaultHome, resolveLocation } from '../src/location/home.js';
import { resolveOptions } from '../src/manager/options.js';
import { tempDir } from './helpers.js';

afterEach(() => vi.unstubAllEnvs());

/** The environment of a user with no PODKEEPER_HOME and their own XDG_DATA_HOME. */
function xdgEnvironment(extra: NodeJS.ProcessEnv = {}): { env: NodeJS.ProcessEnv; data: string } {
  const data = tempDir('pk-xdg-');
  // Also in process.env: a home rule that looks there instead of at `env` must find the same.
  vi.stubEnv('XDG_DATA_HOME', data);
  vi.stubEnv('PODKEEPER_HOME', '');
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_DATA_HOME: data, ...extra };
  delete env['PODKEEPER_HOME'];
  delete env['PODKEEPER_SOCKET'];
  return { env, data: process.platform === 'darwin' ? '' : data };
}

describe('one home', () => {
  it('is the same for the library, the daemon and the client when XDG_DATA_HOME is set', () => {
    const { env, data } = xdgEnvironment();
    const library = resolveOptions({}, env).home;
    const daemon = loadDaemonConfig({}, env).home;
    const client = resolveLocation({}, env).home;
    expect({ daemon, client }).toEqual({ daemon: library, client: library });
    if (data) expect(library).toBe(join(data, 'podkeeper'));
    expect(defaultHome(env)).toBe(library);
  });

  it('takes an empty PODKEEPER_HOME (or --home "") as unset, never as the current directory', () => {
    const { env } = xdgEnvironment({ PODKEEPER_HOME: '' });
    const expected = defaultHome(env);
    expect(expected).not.toBe(process.cwd());
    expect(resolveOptions({}, env).home).toBe(expected);
    expect(loadDaemonConfig({}, env).home).toBe(expected);
    expect(loadDaemonConfig({ home: '' }, env)).toMatchObject({ home: expected });
    expect(resolveLocation({}, env).home).toBe(expected);
  });
});

describe("the library's environment defaults", () => {
  it('reads PODKEEPER_* through the same table as the daemon: empty is unset, paths resolved', () => {
    const options = resolveOptions(
      {},
      {
        PODKEEPER_PYTHON: '',
        PODKEEPER_WHEELHOUSE: 'wheels',
        PODKEEPER_RECIPE_PATH: 'a:/b',
        PODKEEPER_HOME: '/h',
      },
    );
    expect(options).toMatchObject({
      python: 'python3',
      wheelhouse: join(process.cwd(), 'wheels'),
      recipePath: [join(process.cwd(), 'a'), '/b'],
      home: '/h',
    });
    expect(resolveOptions({ python: 'python3.12' }, { PODKEEPER_PYTHON: 'python3.11' }).python).toBe(
      'python3.12',
    );
  });

  it('refuses a bad PODKEEPER_ENV_MODE naming the variable, and ignores the environment when given none', () => {
    expect(() => resolveOptions({}, { PODKEEPER_ENV_MODE: 'conda' })).toThrow(
      /Expected `envMode` \(from env PODKEEPER_ENV_MODE\).*got "conda"/,
    );
    expect(resolveOptions({ home: '/h' }, {})).toMatchObject({
      envMode: 'auto',
      python: 'python3',
      recipePath: [],
    });
  });
});
