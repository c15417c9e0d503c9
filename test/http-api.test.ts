/**
 * The HTTP listener's contract: off by default, loopback only unless allowed with a token, a Host
 * check against DNS rebinding, a token on every route when one is set, read-only JSON of the pods.
 */
import { describe, expect, it } from 'vitest';
import { loadDaemonConfig } from '../src/daemon/config.js';
import { PodkeeperError } from '../src/errors.js';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';
import { getJson, rawGet, startHttpDaemon } from './http-helpers.js';

const TOKEN = 'a-test-token-of-enough-length';

function configError(flags: Record<string, unknown>, env: Record<string, string> = {}): PodkeeperError {
  try {
    loadDaemonConfig({ home: tempDir('pk-home-'), ...flags }, env);
  } catch (error) {
    if (error instanceof PodkeeperError) return error;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('HTTP listener configuration', () => {
  it('refuses a non-loopback address without --http-allow-remote and a token', () => {
    const noFlag = configError({ http: '0.0.0.0:8080' }, { PODKEEPER_HTTP_TOKEN: TOKEN });
    expect(noFlag.code).toBe('INVALID_OPTION');
    expect(noFlag.message).toMatch(/not a loopback address.*--http-allow-remote/);
    const noToken = configError({ http: '0.0.0.0:8080', httpAllowRemote: true });
    expect(noToken.message).toMatch(/PODKEEPER_HTTP_TOKEN/);
    expect(configError({ http: 'localhost' }).message).toMatch(/must be HOST:PORT/);
    expect(configError({ http: '127.0.0.1:99999' }).message).toMatch(/must be HOST:PORT/);
    expect(configError({ http: '127.0.0.1:0' }, { PODKEEPER_HTTP_TOKEN: 'short' }).message).toMatch(
      /at least 16 characters/,
    );
  });

  it('accepts loopback, and a remote address with both the flag and a token', () => {
    const home = tempDir('pk-home-');
    expect(loadDaemonConfig({ home, http: '127.0.0.1:0' }, {}).httpListener?.address).toEqual({
      host: '127.0.0.1',
      port: 0,
    });
    expect(loadDaemonConfig({ home }, { PODKEEPER_HTTP: '[::1]:7878' }).httpListener?.address.host).toBe(
      '::1',
    );
    const remote = loadDaemonConfig(
      { home, http: '0.0.0.0:0', httpAllowRemote: true },
      { PODKEEPER_HTTP_TOKEN: TOKEN },
    );
    expect(remote.httpListener).toEqual({ address: { host: '0.0.0.0', port: 0 }, token: TOKEN });
  });

  it('a daemon asked for a public address exits with INVALID_OPTION', { timeout: 20_000 }, async () => {
    const daemon = await startDaemon({ args: ['--http', '0.0.0.0:0'], waitReady: false });
    const { code } = await daemon.exited;
    expect(code).not.toBe(0);
    expect(daemon.stderr()).toMatch(/INVALID_OPTION.*not a loopback address/);
  });

  it('is off by default: status reports no URL', { timeout: 20_000 }, async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 1, action: 'status', payload: {} });
    expect(await client.answer(1)).toMatchObject({ success: true, result: { http: null } });
  });
});

describe('HTTP listener', () => {
  it('serves the page and the pods a call started, as JSON; read-only; refuses a foreign Host', {
    timeout: 30_000,
  }, async () => {
    const { url, request, daemon } = await startHttpDaemon();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(daemon.stderr()).toContain(`status page listening`);
    expect(await request('call', { target: 'echo', input: { hello: 1 } })).toMatchObject({ success: true });

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script src="/app.js"');
    expect((await fetch(`${url}app.js`)).status).toBe(200);

    const { pods } = await getJson<{ pods: Record<string, unknown>[] }>(`${url}api/pods`);
    expect(pods).toHaveLength(1);
    expect(pods[0]).toMatchObject({ recipe: 'echo', state: 'ready', calls: 1, restarts: 0 });
    expect(pods[0]?.['reclaimInSeconds']).toBeGreaterThan(250); // the default idle timeout: 300 s
    const overview = await getJson<Record<string, unknown>>(`${url}api/overview`);
    expect(overview['memory']).toMatchObject({ usedMB: expect.any(Number), maxMB: expect.any(Number) });
    expect(overview['events']).toEqual(
      expect.arrayContaining([expect.objectContaining({ event: 'pod.ready', recipe: 'echo' })]),
    );
    const { installed, installable } = await getJson<{
      installed: { name: string }[];
      installable: { name: string }[];
    }>(`${url}api/recipes`);
    expect(installed.map(({ name }) => name)).toContain('echo');
    expect(installable.map(({ name }) => name)).toContain('embeddings');
    const { lines } = await getJson<{ lines: unknown[] }>(`${url}api/logs?recipe=echo&lines=5`);
    expect(Array.isArray(lines)).toBe(true);

    const post = await fetch(`${url}api/pods`, { method: 'POST' });
    expect(post.status).toBe(405);
    const missing = await fetch(`${url}api/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'UNKNOWN_ACTION' } });
    // A page on another name that resolves to 127.0.0.1 (DNS rebinding) is refused.
    const rebound = await rawGet(`${url}api/pods`, { Host: 'attacker.example:80' });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect((await rawGet(`${url}api/pods`, { Host: 'localhost:1' })).status).toBe(200);
  });

  it('with a token, every route needs it: Bearer, or the cookie /?token= sets', {
    timeout: 30_000,
  }, async () => {
    const { url } = await startHttpDaemon({ env: { PODKEEPER_HTTP_TOKEN: TOKEN } });
    for (const path of ['', 'app.js', 'api/overview', 'api/pods', 'metrics']) {
      const refused = await fetch(`${url}${path}`);
      expect(refused.status, path).toBe(401);
      expect(await refused.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      const wrong = await fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}x` } });
      expect(wrong.status, path).toBe(401);
      const allowed = await fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(allowed.status, path).toBe(200);
    }
    const login = await fetch(`${url}?token=${TOKEN}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect(cookie).toContain('podkeeper_token=');
    expect((await fetch(`${url}api/pods`, { headers: { Cookie: cookie } })).status).toBe(200);
  });

  it('a port already taken is INVALID_OPTION; a shutdown closes the listener', {
    timeout: 30_000,
  }, async () => {
    const { url, request, daemon } = await startHttpDaemon();
    const port = new URL(url).port;
    const second = await startDaemon({ args: ['--http', `127.0.0.1:${port}`], waitReady: false });
    expect((await second.exited).code).not.toBe(0);
    expect(second.stderr()).toMatch(/INVALID_OPTION.*Cannot serve the status page on 127\.0\.0\.1:\d+/);
    expect((await fetch(`${url}api/status`)).status).toBe(200);
    expect(await request('shutdown')).toMatchObject({ success: true });
    expect((await daemon.exited).code).toBe(0);
    await expect(fetch(`${url}api/status`)).rejects.toThrow();
  });
});
