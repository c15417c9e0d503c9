/** The control socket of a real daemon: permissions, takeover, refusal, malformed input, pipelining, leaving clients. */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawConnect, runCli, sleep, startDaemon } from './daemon-helpers.js';
import { eventually, FIXTURE_RECIPES, RUN_MARKER, tempDir } from './helpers.js';

/** Prints how connecting to the socket given as argv[1] went: `connected` or the error code. */
const CONNECT = `const s = require('node:net').createConnection(process.argv[1]);
s.on('connect', () => { console.log('connected'); s.destroy(); });
s.on('error', (e) => console.log(e.code));`;

describe('socket', () => {
  it('is mode 0600 in a 0700 home; a client running as another user is refused', async () => {
    const daemon = await startDaemon({ home: tempDir('pk-home-') });
    expect(statSync(daemon.socket).mode & 0o777).toBe(0o600);
    expect(statSync(daemon.home).mode & 0o777).toBe(0o700);
    expect(statSync(join(daemon.home, 'logs')).mode & 0o777).toBe(0o700);
    const client = await rawConnect(daemon.socket);
    client.send({ id: 1, action: 'status' });
    expect(await client.answer(1)).toMatchObject({ id: 1, success: true, result: { socket: daemon.socket } });
    if (process.getuid?.() !== 0) return; // only root can become another user
    // nobody may not even search the home; given the socket's path anyway, connecting is refused.
    const other = spawnSync(process.execPath, ['-e', CONNECT, daemon.socket], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
      env: { PODKEEPER_TEST_RUN: RUN_MARKER },
    });
    expect(other.stdout.trim()).toBe('EACCES');
  });

  it('refuses a symlink planted at the socket path, and never follows it', async () => {
    const home = tempDir('pk-home-');
    const elsewhere = join(tempDir(), 'target.sock');
    symlinkSync(elsewhere, join(home, 'podkeeper.sock'));
    const result = await runCli(['daemon', '--home', home]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/INVALID_OPTION: .*podkeeper\.sock exists and is not a socket/);
    expect(existsSync(elsewhere)).toBe(false);
    expect(lstatSync(join(home, 'podkeeper.sock')).isSymbolicLink()).toBe(true);
  });

  it('refuses a socket directory that is open to others, saying how to fix it', async () => {
    const open = join(tempDir(), 'shared');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const result = await runCli(['daemon', '--home', tempDir(), '--socket', join(open, 'pk.sock')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/INVALID_OPTION: .*mode 777.*chmod 700/);
  });

  it('replaces a stale socket left by a dead daemon', async () => {
    const first = await startDaemon();
    first.child.kill('SIGKILL');
    await first.exited;
    expect(statSync(first.socket).isSocket()).toBe(true); // left behind
    const second = await startDaemon({ home: first.home });
    const client = await rawConnect(second.socket);
    client.send({ id: 'x', action: 'status' });
    expect(await client.answer('x')).toMatchObject({ success: true, result: { pid: second.child.pid } });
  });

  it('takes over at once a lock left by a daemon killed during start-up (its pid is dead)', async () => {
    const first = await startDaemon();
    first.child.kill('SIGKILL');
    await first.exited;
    // What a daemon killed between taking the lock and binding leaves: the lock, naming its dead pid.
    writeFileSync(`${first.socket}.lock`, `${first.child.pid}\n`);
    // The lock is fresh (stale by age only after 10 s) and a live holder is waited for 3 s, then
    // DAEMON_ALREADY_RUNNING: starting at all shows the dead holder's lock was taken over.
    const second = await startDaemon({ home: first.home });
    const client = await rawConnect(second.socket);
    client.send({ id: 'x', action: 'status' });
    expect(await client.answer('x')).toMatchObject({ success: true, result: { pid: second.child.pid } });
  });

  it('refuses with DAEMON_ALREADY_RUNNING while a live process holds the lock', async () => {
    const home = tempDir('pk-home-');
    // This test process is alive: its fresh lock must be respected, and the refusal coded.
    writeFileSync(join(home, 'podkeeper.sock.lock'), `${process.pid}\n`);
    const result = await runCli(['daemon', '--home', home]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DAEMON_ALREADY_RUNNING: .*lock.*held by process \d+/s);
  });

  it('refuses to start a second daemon on a live socket, and the first keeps serving', async () => {
    const first = await startDaemon();
    const second = await runCli(['daemon', '--home', first.home]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/DAEMON_ALREADY_RUNNING: A podkeeper daemon is already running on/);
    const client = await rawConnect(first.socket);
    client.send({ id: 1, action: 'status' });
    expect(await client.answer(1)).toMatchObject({ success: true });
  });

  it('refuses a socket path longer than sun_path with an actionable error', async () => {
    const long = join(tempDir(), 'x'.repeat(120), 'pk.sock');
    const result = await runCli(['daemon', '--home', tempDir(), '--socket', long]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/INVALID_OPTION: The socket path is \d+ bytes long.*sun_path.*--socket/s);
    expect(existsSync(long)).toBe(false);
  });
});

describe('malformed input', () => {
  it('answers each bad line with an error naming the problem, and the connection stays usable', async () => {
    const daemon = await startDaemon({ config: { maxLineLength: 4096 } });
    const client = await rawConnect(daemon.socket);
    const errorOf = async (id: unknown) =>
      ((await client.answer(id)) as { error: Record<string, unknown> }).error;

    client.write('this is not json\n');
    expect(await client.waitFor((l) => l['id'] === null)).toMatchObject({
      success: false,
      error: { code: 'BAD_REQUEST', reason: 'json' },
    });
    client.received.length = 0;

    client.send({ id: 'a', action: 'pods.explode' });
    expect(await errorOf('a')).toMatchObject({
      code: 'UNKNOWN_ACTION',
      field: 'action',
      message: expect.stringMatching(/"pods\.explode".*Known actions: status, pods\.list, .*call/),
    });

    client.send({ id: 'b', action: 'call', payload: { target: 42 } });
    expect(await errorOf('b')).toMatchObject({
      code: 'BAD_REQUEST',
      field: 'payload.target',
      message: expect.stringContaining('`payload.target`'),
    });

    client.send({ id: 'c', action: 'call', payload: { target: 'echo', timeout: 'soon' } });
    expect(await errorOf('c')).toMatchObject({ code: 'BAD_REQUEST', field: 'payload.timeout' });

    client.send({ id: 'd', action: 'status', extra: true });
    expect(await errorOf('d')).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('extra'),
    });

    client.send({ id: 'e', action: 'pods.stop', payload: {} });
    expect(await errorOf('e')).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/exactly one/),
    });

    client.send({ id: 'f' });
    expect(await errorOf('f')).toMatchObject({ code: 'BAD_REQUEST', field: 'action' });

    client.send({ id: 'g', action: 'call', payload: { target: 'echo', input: 'x'.repeat(5000) } });
    expect(await errorOf('g')).toMatchObject({ code: 'BAD_REQUEST', reason: 'too-long' });

    client.write('[1,2,3]\n{"id":{"no":1},"action":"status"}\n');
    await eventually(() => client.received.filter((l) => l['id'] === null).length >= 2);
    expect(client.received.filter((l) => l['id'] === null)).toHaveLength(2);

    client.send({ id: 'h', action: 'call', payload: { target: 'echo', input: { ok: true } } });
    expect(await client.answer('h')).toEqual({ id: 'h', success: true, result: { ok: true } });
    client.send({ id: 'h2', action: 'call', payload: { target: 'nope' } });
    expect(await errorOf('h2')).toMatchObject({ code: 'UNKNOWN_TARGET' });
  });
});

describe('requests', () => {
  it('answers 1,000 pipelined calls on one connection, each exactly once with its own id', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    const lines = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ id: `r${i}`, action: 'call', payload: { target: 'echo', input: { i } } }),
    );
    client.write(`${lines.join('\n')}\n`);
    // Calls that wait for the cold pod also get the daemon's `stage: starting` progress.
    const answers = () => client.received.filter((line) => line['stage'] === undefined);
    expect(await eventually(() => answers().length >= 1000, 20_000)).toBe(true);
    await sleep(100); // nothing more may come
    expect(answers()).toHaveLength(1000);
    expect(
      client.received.filter((line) => line['stage'] !== undefined && line['stage'] !== 'starting'),
    ).toEqual([]);
    const byId = new Map(answers().map((line) => [line['id'], line]));
    expect(byId.size).toBe(1000);
    for (let i = 0; i < 1000; i++)
      expect(byId.get(`r${i}`)).toEqual({ id: `r${i}`, success: true, result: { i } });
  });

  it("forwards a call's progress and chunks as they arrive, with the caller's id", async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 7, action: 'call', payload: { target: 'stream', input: { text: 'one two three' } } });
    await client.answer(7);
    const lines = client.received.filter((line) => line['id'] === 7);
    expect(lines.filter((l) => l['type'] === 'chunk').map((l) => l['data'])).toEqual([
      { token: 'one' },
      { token: 'two' },
      { token: 'three' },
    ]);
    // The pod's start (the daemon's `stage` progress) comes first, then the handler's own.
    expect(lines.filter((l) => l['stage'] === 'starting').map((l) => l['progress'])).toEqual([0, 1]);
    expect(
      lines.filter((l) => l['type'] === 'progress' && l['stage'] === undefined).map((l) => l['progress']),
    ).toEqual([1 / 3, 2 / 3, 1]);
    expect(lines.at(-1)).toMatchObject({ id: 7, success: true });
  });

  it('serves many clients at once', async () => {
    const daemon = await startDaemon();
    const clients = await Promise.all(Array.from({ length: 8 }, () => rawConnect(daemon.socket)));
    clients.forEach((client, n) => {
      for (let i = 0; i < 20; i++)
        client.send({ id: i, action: 'call', payload: { target: 'echo', input: { n, i } } });
    });
    const answers = (client: (typeof clients)[number]) => client.received.filter((l) => 'success' in l);
    await Promise.all(clients.map((client) => eventually(() => answers(client).length >= 20, 10_000)));
    clients.forEach((client, n) => {
      expect(answers(client).map((l) => (l['result'] as { n: number }).n)).toEqual(Array(20).fill(n));
    });
  });

  it('cancels the calls of a client that disconnects; the pod stays warm for the next caller', async () => {
    const daemon = await startDaemon();
    const watcher = await rawConnect(daemon.socket);
    watcher.send({
      id: 'sub',
      action: 'events.subscribe',
      payload: { events: ['pod.state', 'pod.crashed', 'pod.log'] },
    });
    await watcher.waitFor((l) => l['event'] === 'stream.started');
    const leaver = await rawConnect(daemon.socket);
    leaver.send({ id: 1, action: 'call', payload: { target: 'hang', input: { cooperative: true } } });
    await watcher.waitFor((l) => l['event'] === 'pod.state' && l['to'] === 'busy');
    const podId = (await watcher.waitFor((l) => l['event'] === 'pod.state'))['podId'];
    leaver.close();
    // The pod answers the cancel by itself and goes back to ready: no kill, no respawn.
    await watcher.waitFor(
      (l) => l['event'] === 'pod.state' && l['from'] === 'busy' && l['to'] === 'ready',
      3000,
    );
    const next = await rawConnect(daemon.socket);
    next.send({ id: 2, action: 'pods.list' });
    const pods = (
      (await next.answer(2))['result'] as { pods: { id: string; state: string; inFlight: number }[] }
    ).pods;
    expect(pods).toEqual([expect.objectContaining({ id: podId, state: 'ready', inFlight: 0 })]);
    expect(watcher.received.some((l) => l['event'] === 'pod.crashed')).toBe(false);
  });

  it('lets a pod that is loading finish loading when its caller leaves', async () => {
    const daemon = await startDaemon();
    const watcher = await rawConnect(daemon.socket);
    watcher.send({ id: 'sub', action: 'events.subscribe', payload: { target: 'slow-setup' } });
    await watcher.waitFor((l) => l['event'] === 'stream.started');
    const leaver = await rawConnect(daemon.socket);
    leaver.send({ id: 1, action: 'call', payload: { target: 'slow-setup' } });
    await watcher.waitFor((l) => l['event'] === 'pod.spawned');
    leaver.close();
    await watcher.waitFor((l) => l['event'] === 'pod.ready', 8000);
    expect(watcher.received.some((l) => l['event'] === 'pod.crashed' || l['event'] === 'pod.stopped')).toBe(
      false,
    );
    watcher.send({ id: 2, action: 'call', payload: { target: 'slow-setup' } });
    expect(await watcher.answer(2)).toMatchObject({ success: true, result: { loaded: true } });
  });

  it('cancel ends a call (CANCELLED) or a stream ({}), and says so', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 's', action: 'logs.follow', payload: {} });
    await client.waitFor((l) => l['event'] === 'stream.started');
    const podLog = (message: string) => (line: Record<string, unknown>) =>
      line['id'] === 's' && line['source'] === 'pod' && line['message'] === message;
    client.send({ id: 'c', action: 'call', payload: { target: 'hang', input: { cooperative: true } } });
    await client.waitFor(podLog('waiting for cancel'));
    client.send({ id: 'x1', action: 'cancel', payload: { id: 'c' } });
    expect(await client.answer('c')).toMatchObject({ success: false, error: { code: 'CANCELLED' } });
    expect(await client.answer('x1')).toMatchObject({ result: { cancelled: true } });
    // The pod itself was told: its handler saw ctx.cancelled and returned.
    await client.waitFor(podLog('cancel received'));
    client.send({ id: 'x2', action: 'cancel', payload: { id: 's' } });
    client.send({ id: 'x3', action: 'cancel', payload: { id: 'nothing' } });
    expect(await client.answer('s')).toEqual({ id: 's', success: true, result: {} });
    expect(await client.answer('x3')).toMatchObject({ result: { cancelled: false } });
  });

  it('skips the log lines of a follower that does not read, keeps it and serves the others', async () => {
    const recipes = tempDir();
    mkdirSync(join(recipes, 'chatty'));
    writeFileSync(
      join(recipes, 'chatty', 'recipe.json'),
      '{"name":"chatty","capability":"chatty","entry":"pod.py"}',
    );
    writeFileSync(
      join(recipes, 'chatty', 'pod.py'),
      'def process(payload, ctx):\n    for i in range(payload["n"]):\n        ctx.log("x" * 2000)\n    return {"logged": payload["n"]}\n',
    );
    const daemon = await startDaemon({
      config: { maxClientBufferMB: 0.25 },
      env: { PODKEEPER_RECIPE_PATH: `${FIXTURE_RECIPES}:${recipes}` },
    });
    const slow = await rawConnect(daemon.socket);
    slow.send({ id: 'sub', action: 'logs.follow', payload: { target: 'chatty' } });
    await slow.waitFor((l) => l['event'] === 'stream.started');
    slow.socket.pause(); // never reads again
    const other = await rawConnect(daemon.socket);
    other.send({ id: 1, action: 'call', payload: { target: 'chatty', input: { n: 2000 } } });
    expect(await other.answer(1, 20_000)).toMatchObject({ success: true, result: { logged: 2000 } });
    other.send({ id: 2, action: 'status' });
    const status = (await other.answer(2))['result'] as { connections: number; clientBufferedBytes: number };
    expect(status.connections).toBe(2); // ~4 MB of lines were skipped, not queued: no reason to drop it
    expect(status.clientBufferedBytes).toBeLessThanOrEqual(256 * 1024);
    expect(daemon.stderr()).not.toContain('dropping a client');
    slow.socket.resume();
    expect(await slow.waitFor((l) => l['event'] === 'lagged', 10_000)).toMatchObject({ id: 'sub' });
  });
});
