/** The `podkeeper/client` library against a real daemon: over its socket, and as a spawned --stdio child. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type CallEvent, connect, isPodkeeperError, spawnDaemon } from '../src/client/index.js';
import { controlServerLineSchema } from '../src/protocol/control-replies.js';
import { BIN, childEnv, startDaemon } from './daemon-helpers.js';
import { eventually, FIXTURE_RECIPES, onCleanup, RUN_MARKER, tempDir } from './helpers.js';

const handles = () => process.getActiveResourcesInfo().filter((kind) => kind === 'PipeWrap').length;

describe('connect()', () => {
  it('offers every action as a typed method', async () => {
    const daemon = await startDaemon();
    const before = handles();
    const client = await connect({ socket: daemon.socket });
    onCleanup(() => client.close());

    expect(await client.status()).toMatchObject({ pid: daemon.child.pid, home: daemon.home, stdio: false });
    const events = await client.subscribe({ events: ['pod.spawned', 'pod.ready'] });

    const call = client.call('stream', { text: 'x y' });
    const seen: CallEvent[] = [];
    for await (const event of call) seen.push(event);
    expect(seen).toEqual([
      // The cold start, as the daemon's own `stage` progress, then the handler's.
      { type: 'progress', progress: 0, message: 'starting stream: loading…', stage: 'starting' },
      {
        type: 'progress',
        progress: 1,
        message: expect.stringMatching(/^starting stream: ready in \d+ ms$/),
        stage: 'starting',
      },
      { type: 'progress', progress: 0.5, message: 'token 1' },
      { type: 'chunk', data: { token: 'x' } },
      { type: 'progress', progress: 1, message: 'token 2' },
      { type: 'chunk', data: { token: 'y' } },
    ]);
    await call;
    expect(await client.call('echo', { a: 1 })).toEqual({ a: 1 });
    expect(await client.call('echo', { text: 'abc' }, { action: 'reverse' })).toEqual({ text: 'cba' });

    const names: string[] = [];
    for await (const event of events) {
      names.push(`${event.event}:${'recipe' in event ? event.recipe : ''}`);
      if (names.length === 4) break; // leaving the loop cancels the subscription
    }
    expect(names).toEqual(['pod.spawned:stream', 'pod.ready:stream', 'pod.spawned:echo', 'pod.ready:echo']);

    const pods = await client.pods();
    expect(pods.map((pod) => pod.recipe).sort()).toEqual(['echo', 'stream']);
    expect((await client.recipes()).map((r) => r.name)).toContain('echo');
    expect(await client.start('concurrent')).toMatchObject({ recipe: 'concurrent', state: 'ready' });
    expect((await client.stop({ target: 'concurrent' })).map((pod) => pod.recipe)).toEqual(['concurrent']);

    const follow = await client.followLogs({ target: 'noisy' });
    await client.call('noisy', {});
    for await (const line of follow) {
      if (line.event === 'pod.log' && line.message === 'a stray print') break;
    }
    expect((await client.logs({ target: 'noisy' })).map((line) => line.message)).toContain('a stray print');

    const error = await client.call('nope').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPodkeeperError(error, 'UNKNOWN_TARGET')).toBe(true);
    await expect(client.install('./x')).rejects.toMatchObject({ code: 'INSTALL_FAILED' });

    const controller = new AbortController();
    const hung = client.call('hang', { cooperative: true }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(hung).rejects.toMatchObject({ code: 'CANCELLED' });

    expect(client.pending).toBe(0);
    await client.close();
    expect(await eventually(() => handles() <= before, 1000)).toBe(true);
  });

  it('rejects what is in flight with CHANNEL_CLOSED when closed, and cancels it on the daemon', async () => {
    const daemon = await startDaemon();
    const client = await connect({ socket: daemon.socket });
    const watcher = await connect({ socket: daemon.socket });
    onCleanup(() => watcher.close());
    const podSaid = async (message: string) =>
      (await watcher.logs({ target: 'hang' })).some((line) => line.message === message);
    const hung = client.call('hang', { cooperative: true });
    expect(await eventually(() => podSaid('waiting for cancel'), 10_000)).toBe(true);
    await client.close();
    await expect(hung).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' });
    await expect(client.status()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' });
    // The daemon cancelled the call: the pod's handler saw it and returned, and the pod is free again.
    expect(await eventually(() => podSaid('cancel received'), 5000)).toBe(true);
    const free = async () => {
      const [pod, ...others] = await watcher.pods();
      return others.length === 0 && pod?.recipe === 'hang' && pod.inFlight === 0 && pod.state === 'ready';
    };
    expect(await eventually(free, 5000)).toBe(true);
  });

  it('fails with DAEMON_NOT_RUNNING and the command that starts one', async () => {
    const home = tempDir();
    await expect(connect({ home })).rejects.toMatchObject({
      code: 'DAEMON_NOT_RUNNING',
      message: expect.stringContaining(`Start one with: podkeeper daemon --home ${home}`),
    });
  });
});

describe('spawnDaemon()', () => {
  it('runs a daemon as a child over its stdio, and close() stops it with its pods', async () => {
    const home = tempDir();
    const client = await spawnDaemon({
      stdio: true,
      home,
      recipePath: [FIXTURE_RECIPES],
      env: childEnv() as Record<string, string>,
    });
    onCleanup(() => client.close());
    expect(await client.status()).toMatchObject({ stdio: true, socket: null, home });
    const pipelined = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call('echo', { i })));
    expect(pipelined).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })));
    const pod = (await client.pods())[0];
    expect(pod?.pid).toBeGreaterThan(0);
    await client.close();
    expect(client.child.exitCode).toBe(0);
  });

  it('reports a daemon that cannot start, with its stderr', async () => {
    await expect(
      spawnDaemon({ home: tempDir(), idleTimeout: -7, env: { PODKEEPER_TEST_RUN: RUN_MARKER } }),
    ).rejects.toMatchObject({
      code: 'DAEMON_NOT_RUNNING',
      message: expect.stringMatching(
        /exited during start.*INVALID_OPTION: Invalid configuration: `idleTimeout` \(from --idle-timeout\)/s,
      ),
    });
  });

  it('keeps stdout for protocol lines only, and stops when the host closes stdin', async () => {
    const child = spawn(process.execPath, [BIN, 'daemon', '--stdio', '--home', tempDir()], {
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    onCleanup(() => child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.write('{"id":1,"action":"call","payload":{"target":"noisy","input":{"n":1}}}\n');
    child.stdin.write(
      'not json\n{"id":2,"action":"call","payload":{"target":"stream","input":{"text":"a"}}}\n',
    );
    child.stdin.end('{"id":3,"action":"status"}\n'); // EOF: answer what was asked, then stop
    expect(await exited).toBe(0);
    const lines = stdout.trim().split('\n');
    for (const line of lines) expect(controlServerLineSchema.safeParse(JSON.parse(line)).success).toBe(true);
    const finals = lines.map((line) => JSON.parse(line)).filter((line) => 'success' in line);
    expect(finals.map((line) => [line.id, line.success])).toEqual(
      expect.arrayContaining([
        [1, true],
        [2, true],
        [3, true],
        [null, false],
      ]),
    );
    expect(finals.find((line) => line.id === 1).result).toEqual({ clean: { n: 1 } });
  });
});
