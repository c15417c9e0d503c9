/** How a real daemon ends: SIGTERM/SIGINT with calls in flight, and kill -9 (its pods must go by themselves). */
import { existsSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rawConnect, sleep, startDaemon } from './daemon-helpers.js';
import { isAlive, ourProcesses } from './helpers.js';

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
});
