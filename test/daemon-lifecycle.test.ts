/** How a real daemon ends: SIGTERM/SIGINT with calls in flight, and kill -9 (its pods must go by themselves). */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, rawConnect, sleep, startDaemon, type TestDaemon } from './daemon-helpers.js';
import { eventually, isAlive, onCleanup, ourProcesses } from './helpers.js';

/** A Node older than 22 on this machine (its own /usr/bin/node, say): bin/podkeeper.js hands over from it. */
const OLD_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find((node) => {
  const run = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return run.status === 0 && Number(run.stdout.split('.')[0]) < 22;
});

/** The daemon's own pid (behind any wrapper) and its pods' pids, once `echo` runs. */
async function daemonAndPods(daemon: TestDaemon): Promise<number[]> {
  const client = await rawConnect(daemon.socket);
  client.send({ id: 1, action: 'pods.start', payload: { target: 'echo' } });
  await client.answer(1);
  client.send({ id: 2, action: 'status' });
  client.send({ id: 3, action: 'pods.list' });
  const status = (await client.answer(2)) as { result: { pid: number } };
  const pods = ((await client.answer(3)) as { result: { pods: { pid: number }[] } }).result.pods;
  client.close();
  // Behind a wrapper, the daemon is not the test's child: stop it here should the test fail.
  onCleanup(() => {
    if (isAlive(status.result.pid)) process.kill(status.result.pid, 'SIGTERM');
    return eventually(() => !isAlive(status.result.pid), 8000);
  });
  return [status.result.pid, ...pods.map((pod) => pod.pid)];
}

describe('graceful shutdown', () => {
  it('on SIGTERM lets calls in flight finish, refuses new ones, stops every pod, removes the socket', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'warm', action: 'call', payload: { target: 'echo', input: 1 } });
    await client.answer('warm');
    for (let i = 0; i < 3; i++)
      client.send({ id: `slow${i}`, action: 'call', payload: { target: 'concurrent', input: { sleep: 1 } } });
    client.send({ id: 'sub', action: 'events.subscribe', payload: {} });
    await client.waitFor(
      (l) => l['event'] === 'pod.state' && l['to'] === 'busy' && l['recipe'] === 'concurrent',
    );
    const pids = ourProcesses().filter((pid) => pid !== daemon.child.pid);
    expect(pids.length).toBeGreaterThanOrEqual(2); // echo and concurrent

    daemon.child.kill('SIGTERM');
    await sleep(200);
    client.send({ id: 'late', action: 'status' });
    expect(await client.answer('late')).toMatchObject({ success: false, error: { code: 'SHUTTING_DOWN' } });
    expect(await client.answer('sub')).toMatchObject({ success: false, error: { code: 'SHUTTING_DOWN' } });
    for (let i = 0; i < 3; i++) {
      expect(await client.answer(`slow${i}`, 5000)).toMatchObject({ success: true, result: { peak: 3 } });
    }
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(daemon.socket)).toBe(false);
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it('on SIGINT stops the same way, and exits 0', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 1, action: 'pods.start', payload: { target: 'echo' } });
    await client.answer(1);
    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(daemon.socket)).toBe(false);
  });

  it('gives up waiting after shutdownGrace: pods are stopped under calls still running', async () => {
    const daemon = await startDaemon({ config: { shutdownGrace: 0.3 } });
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'h', action: 'call', payload: { target: 'hang', input: {} } });
    await sleep(500);
    daemon.child.kill('SIGTERM');
    expect(await client.answer('h', 8000)).toMatchObject({
      success: false,
      error: { code: 'SHUTTING_DOWN' },
    });
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
  });
});

describe('SIGTERM to the process a user started', () => {
  it.skipIf(OLD_NODE === undefined)(
    'bin/podkeeper.js on an old Node forwards it to the Node 24 daemon: daemon and pods gone, next start works',
    async () => {
      const daemon = await startDaemon({ command: (args) => [OLD_NODE ?? '', ...args] });
      const pids = await daemonAndPods(daemon);
      expect(pids[0]).not.toBe(daemon.child.pid); // the hand-over: the daemon is the wrapper's child
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toEqual({ code: 0, signal: null });
      expect(await eventually(() => !pids.some(isAlive), 2000)).toBe(true);
      const next = await startDaemon({ home: daemon.home });
      expect(await daemonAndPods(next)).toHaveLength(2);
    },
  );

  it.skipIf(OLD_NODE === undefined)(
    'scripts/with-node.mjs forwards SIGTERM and SIGHUP, and exits as its command did',
    async () => {
      for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
        const withNode = join(ROOT, 'scripts', 'with-node.mjs');
        const daemon = await startDaemon({ command: (args) => [OLD_NODE ?? '', withNode, 'node', ...args] });
        const pids = await daemonAndPods(daemon);
        daemon.child.kill(signal);
        const exit = await daemon.exited;
        // SIGTERM: the daemon stops gracefully and exits 0; SIGHUP keeps its default and ends it.
        expect(exit).toEqual(signal === 'SIGTERM' ? { code: 0, signal: null } : { code: null, signal });
        expect(await eventually(() => !pids.some(isAlive), 2000)).toBe(true);
      }
    },
  );

  it('npx / npm start: SIGTERM to npm, which only reaches its `sh -c`, still stops the daemon and its pods', async () => {
    // npm runs a bin or script through `sh -c`, forwards SIGTERM to that shell only, and the shell
    // dies without passing it on: the daemon must notice that the shell that started it is gone.
    const npmExec = (args: string[]) => ['npm', 'exec', '-c', `node ${args.map((a) => `'${a}'`).join(' ')}`];
    const daemon = await startDaemon({ command: npmExec });
    const pids = await daemonAndPods(daemon);
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    expect(await eventually(() => !pids.some(isAlive), 3000)).toBe(true);
  });
});

describe('kill -9 of the daemon', () => {
  it('leaves no pod or grandchild alive 2 s later; the next daemon takes over the stale socket', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 1, action: 'call', payload: { target: 'stubborn', input: {} } });
    client.send({ id: 2, action: 'call', payload: { target: 'echo', input: {} } });
    client.send({ id: 3, action: 'call', payload: { target: 'hang', input: {} } }); // busy when the daemon dies
    const grandchild = ((await client.answer(1)) as { result: { child: number } }).result.child;
    await client.answer(2);
    client.send({ id: 4, action: 'pods.list' });
    const pods = ((await client.answer(4)) as { result: { pods: { pid: number }[] } }).result.pods;
    expect(pods).toHaveLength(3);
    const pids = [...pods.map((pod) => pod.pid), grandchild];
    expect(pids.every(isAlive)).toBe(true);

    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await sleep(2000);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(ourProcesses()).toEqual([]);

    expect(statSync(daemon.socket).isSocket()).toBe(true);
    const next = await startDaemon({ home: daemon.home });
    const again = await rawConnect(next.socket);
    again.send({ id: 1, action: 'call', payload: { target: 'echo', input: 'back' } });
    expect(await again.answer(1)).toMatchObject({ success: true, result: 'back' });
  });

  it('ends within 2 s a pod stuck in a C call holding the GIL, its child, and setsid() escapees', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'e', action: 'call', payload: { target: 'escaper', input: {} } });
    const escaped = ((await client.answer('e')) as { result: { pids: number[] } }).result.pids;
    client.send({ id: 'g', action: 'call', payload: { target: 'gil-hold', input: {} } });
    // The handler's own progress (not the daemon's `stage` lines about the pod starting).
    const progress = await client.waitFor(
      (l) => l['id'] === 'g' && l['type'] === 'progress' && l['stage'] === undefined,
    );
    const child = Number(/child (\d+)/.exec(String(progress['message']))?.[1]);
    client.send({ id: 'l', action: 'pods.list' });
    const pods = ((await client.answer('l')) as { result: { pods: { pid: number }[] } }).result.pods;
    const pids = [...pods.map((pod) => pod.pid), child, ...escaped];
    expect(pids).toHaveLength(6);
    expect(pids.every(isAlive)).toBe(true);

    daemon.child.kill('SIGKILL');
    await daemon.exited;
    // Every process of the test (guardians and the nested subprocess's child too), within 2 s.
    expect(await eventually(() => !pids.some(isAlive) && ourProcesses().length === 0, 2000)).toBe(true);
  });
});
