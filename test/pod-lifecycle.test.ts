/** Crashes, restarts, timeouts and termination, against real fixture pods. */
import { describe, expect, it } from 'vitest';
import { createManager, eventually, isAlive, ourProcesses, recordEvents, sleep } from './helpers.js';
import { ignoredSignals } from './processes.js';

const fastRestart = {
  backoffBase: 0.05,
  backoffFactor: 1.5,
  backoffCap: 1,
  unstableWindow: 10,
  maxUnstable: 5,
};

describe('pod lifecycle', () => {
  it('a slow setup that logs its progress becomes ready despite a short ready timeout', async () => {
    const manager = createManager();
    const events = recordEvents(manager);
    expect(await manager.call('slow-setup', {})).toEqual({ loaded: true });
    const logs = (await manager.logs({ target: 'slow-setup' })).filter((line) => line.source === 'pod');
    expect(logs.map((line) => line.message)).toEqual([1, 2, 3, 4, 5].map((n) => `loading part ${n}/5`));
    const ready = events.find((event) => event.event === 'pod.ready');
    expect(ready && 'spawnToReadyMs' in ready ? ready.spawnToReadyMs : 0).toBeGreaterThan(1500);
  });

  it('a setup that stays silent past the ready timeout fails with READY_TIMEOUT and is killed', async () => {
    const manager = createManager();
    const started = Date.now();
    await expect(manager.call('silent-setup', {})).rejects.toMatchObject({ code: 'READY_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await manager.list()).toEqual([]);
  });

  it('a crash at import fails the caller with POD_CRASHED carrying the exit code and the traceback', async () => {
    const manager = createManager({ restart: fastRestart });
    const error = await manager.call('crash-import', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'POD_CRASHED' });
    const details = (error as { details: { exitCode: number; stderrTail: string[] } }).details;
    expect(details.exitCode).not.toBe(0);
    expect(details.stderrTail.join('\n')).toContain('RuntimeError: broken at import: missing model file');
  });

  it('after 5 unstable crashes in a row the recipe is POD_FATAL until an explicit start', async () => {
    const manager = createManager({ restart: fastRestart });
    const events = recordEvents(manager);
    for (let i = 0; i < 5; i++) {
      await expect(manager.call('crash-import', {})).rejects.toMatchObject({ code: 'POD_CRASHED' });
    }
    const started = Date.now();
    const fatal = await manager.call('crash-import', {}).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(200);
    expect(fatal).toMatchObject({ code: 'POD_FATAL', message: expect.stringContaining('broken at import') });
    expect(events.filter((e) => e.event === 'pod.spawned')).toHaveLength(5);
    expect(events.filter((e) => e.event === 'pod.fatal')).toHaveLength(1);
    // An explicit start clears the fatal state (and crashes again, for real).
    await expect(manager.start('crash-import')).rejects.toMatchObject({ code: 'POD_CRASHED' });
    expect(events.filter((e) => e.event === 'pod.spawned')).toHaveLength(6);
  });

  it('a crash mid-request reaches every in-flight and queued caller within 1 s, and the next call respawns', async () => {
    const manager = createManager({ restart: fastRestart });
    await manager.start('crash-mid');
    const [before] = await manager.list();
    const crash = manager.call('crash-mid', { crash: true }).catch((e: unknown) => e);
    const queued = manager.call('crash-mid', {}).catch((e: unknown) => e);
    await eventually(() => !isAlive(before?.pid), 3000, 2);
    const diedAt = Date.now();
    const [error, queuedError] = await Promise.all([crash, queued]);
    expect(Date.now() - diedAt).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'POD_CRASHED' });
    expect((error as { details: { exitCode: number } }).details.exitCode).toBe(7);
    expect((error as Error).message).toContain('about to die mid-request');
    expect(queuedError).toMatchObject({ code: 'POD_CRASHED' });
    expect(await manager.call('crash-mid', {})).toEqual({ ok: true });
    const [after] = await manager.list();
    expect(after?.pid).not.toBe(before?.pid);
  });

  it('a request past its timeout gets TIMEOUT; a pod that ignores cancel is killed and respawned', async () => {
    const manager = createManager({ cancelGrace: 0.5 });
    const events = recordEvents(manager);
    await manager.start('hang');
    const [before] = await manager.list();
    const started = Date.now();
    await expect(manager.call('hang', {}, { timeout: 0.3 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(
      await eventually(() => events.some((e) => e.event === 'pod.ready' && e.podId !== before?.id), 5000),
    ).toBe(true);
    expect(isAlive(before?.pid)).toBe(false);
    expect(events.find((e) => e.event === 'pod.crashed')).toMatchObject({ reason: 'killed' });
  });

  it('a cooperative handler that honours cancel is not killed', async () => {
    const manager = createManager({ cancelGrace: 2 });
    const events = recordEvents(manager);
    await manager.start('hang');
    await expect(manager.call('hang', { cooperative: true }, { timeout: 0.2 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    await sleep(300);
    expect(await manager.call('echo', 'x')).toBe('x');
    const [hang] = (await manager.list()).filter((pod) => pod.recipe === 'hang');
    expect(hang).toMatchObject({ state: 'ready', inFlight: 0 });
    expect(events.filter((e) => e.event === 'pod.crashed')).toEqual([]);
  });

  it('a graceful stop answers every request already sent to the pod, and refuses new ones', async () => {
    const manager = createManager({ stopGrace: 4 });
    await manager.start('concurrent');
    const calls = Array.from({ length: 8 }, () => manager.call('concurrent', { sleep: 0.2 }));
    await sleep(50); // all 8 are sent (4 run, 4 wait inside the pod)
    const [pod] = await manager.list();
    expect(pod).toMatchObject({ inFlight: 8, queued: 0 });
    const stopping = manager.stop({ target: 'concurrent' });
    const results = (await Promise.all(calls)) as { peak: number }[];
    expect(results.map((r) => r.peak)).toEqual(Array(8).fill(4));
    await stopping;
    expect(await manager.list()).toEqual([]);
  });

  it('stop escalates to SIGKILL for a pod and a grandchild that ignore SIGTERM; neither is left', async () => {
    const manager = createManager({ stopGrace: 1 });
    const { child } = (await manager.call('stubborn', {})) as { child: number };
    expect(isAlive(child)).toBe(true);
    const blocked = manager.call('stubborn', { block: true }).catch((e: unknown) => e);
    await sleep(100);
    const started = Date.now();
    const [stopped] = await manager.stop({ target: 'stubborn' });
    expect(Date.now() - started).toBeGreaterThan(400);
    expect(await blocked).toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(isAlive(stopped?.pid)).toBe(false);
    expect(await eventually(() => !isAlive(child), 1000)).toBe(true);
    expect(ourProcesses()).toEqual([]);
  });

  it('an idle stop of a pod whose grandchild ignores SIGTERM leaves no grandchild', async () => {
    const manager = createManager({ stopGrace: 2 });
    const { child } = (await manager.call('stubborn', {})) as { child: number };
    expect(ignoredSignals(child) & 0x4000n).toBe(0x4000n); // the grandchild really ignores SIGTERM
    await manager.close();
    expect(await eventually(() => !isAlive(child), 1000)).toBe(true);
  });
});

describe('descendants that leave the session (setsid) or outlive their parent', () => {
  /** The pids the escaper pod leaves: a nested subprocess, a multiprocessing worker, a setsid() escapee. */
  async function escapers(manager: ReturnType<typeof createManager>, mb = 0): Promise<number[]> {
    const { pids } = (await manager.call('escaper', { mb })) as { pids: number[] };
    expect(pids).toHaveLength(3);
    expect(pids.every(isAlive)).toBe(true);
    return pids;
  }

  it('none is alive after a stop', async () => {
    const manager = createManager({ stopGrace: 1 });
    const pids = await escapers(manager);
    await manager.stop({ target: 'escaper' });
    expect(await eventually(() => !pids.some(isAlive), 2000)).toBe(true);
    expect(ourProcesses()).toEqual([]);
  });

  it('none is alive after an idle reclaim', async () => {
    const manager = createManager({ idleTimeout: 0.2 });
    const events = recordEvents(manager);
    const pids = await escapers(manager);
    expect(await eventually(() => events.some((e) => e.event === 'pod.stopped'), 5000)).toBe(true);
    expect(await eventually(() => !pids.some(isAlive), 2000)).toBe(true);
  });

  it('the memory budget counts an escapee, and an eviction leaves none alive', async () => {
    const manager = createManager({ maxMemoryMB: 150 });
    const events = recordEvents(manager);
    const pids = await escapers(manager, 100);
    const [pod] = await manager.list();
    expect(pod?.rssMB).toBeGreaterThan(100);
    await manager.call('echo', {});
    expect(
      events.filter((e) => e.event === 'pod.evicted').map((e) => ('recipe' in e ? e.recipe : '')),
    ).toEqual(['escaper']);
    expect(await eventually(() => !pids.some(isAlive), 2000)).toBe(true);
  });
});

describe('a pod that ignores SIGINT and SIGTERM, and so does its child', () => {
  for (const where of ['in setup()', 'serving'] as const) {
    it(`${where}: gone within the stop grace + 1 s, its process group empty`, async () => {
      const manager = createManager({
        stopGrace: 1,
        env: where === 'in setup()' ? { DEAF_IN_SETUP: '1' } : {},
      });
      const events = recordEvents(manager);
      const childOf = () => {
        const log = events.find((e) => e.event === 'pod.log' && e.message.startsWith('child '));
        return log && 'message' in log ? Number(log.message.slice(6)) : undefined;
      };
      const pending =
        where === 'in setup()'
          ? manager.start('deaf').catch((e: unknown) => e)
          : manager.call('deaf', {}).catch((e: unknown) => e);
      expect(await eventually(() => childOf() !== undefined, 10_000)).toBe(true);
      if (where === 'serving')
        expect(
          await eventually(() => events.some((e) => e.event === 'pod.state' && e.to === 'busy'), 5000),
        ).toBe(true);
      const [pod] = await manager.list();
      const started = Date.now();
      await manager.stop({ target: 'deaf' });
      expect(Date.now() - started).toBeLessThan(1000 + 1000);
      await pending;
      expect(isAlive(childOf())).toBe(false);
      expect(isAlive(pod?.pid)).toBe(false);
      expect(ourProcesses()).toEqual([]);
    });
  }
});
