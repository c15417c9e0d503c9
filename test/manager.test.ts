/** PodManager: on-demand spawn, idle reclaim, keep-alive and the memory budget, with real pods. */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PodManager } from '../src/index.js';
import {
  createManager,
  eventually,
  FIXTURE_RECIPES,
  onCleanup,
  pidOf,
  recordEvents,
  sleep,
  tempDir,
} from './helpers.js';

describe('spawn on demand', () => {
  it('concurrent first callers share one spawn and one ready', async () => {
    const manager = createManager();
    const events = recordEvents(manager);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => manager.call('echo', { i })));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
    expect(events.filter((e) => e.event === 'pod.spawned')).toHaveLength(1);
    expect((await manager.list())[0]?.calls).toBe(20);
  });

  it('start() waits for ready and returns the pod; stop() by pod id stops it', async () => {
    const manager = createManager();
    const pod = await manager.start('echo');
    expect(pod).toMatchObject({ recipe: 'echo', state: 'ready' });
    expect(pod.spawnToReadyMs).toBeGreaterThan(0);
    const stopped = await manager.stop({ podId: pod.id });
    expect(stopped.map((p) => p.id)).toEqual([pod.id]);
    expect(await manager.list()).toEqual([]);
  });

  it('refuses bad options with INVALID_OPTION naming the field and the value', () => {
    expect(() => new PodManager({ idleTimeout: -5 })).toThrow(/`idleTimeout`.*got -5/);
    expect(() => new PodManager({ maxQueue: 1.5 } as never)).toThrow(/`maxQueue`/);
    expect(() => new PodManager({ idleTimout: 3 } as never)).toThrow(/unknown option `idleTimout`/);
  });

  it('reports QUEUE_FULL beyond the queue bound, and serves the rest', async () => {
    const manager = createManager({ maxQueue: 3, pipelining: 0 });
    await manager.start('concurrent');
    const calls = Array.from({ length: 10 }, () =>
      manager.call('concurrent', { sleep: 0.2 }).catch((e: unknown) => e),
    );
    const outcomes = await Promise.all(calls);
    const full = outcomes.filter((o) => (o as { code?: string }).code === 'QUEUE_FULL');
    expect(full).toHaveLength(3); // 4 run, 3 wait, 3 are refused
    expect(outcomes.filter((o) => (o as { peak?: number }).peak !== undefined)).toHaveLength(7);
  });
});

describe('idle reclaim', () => {
  it('stops a pod after its idle timeout, measured from its last reply', async () => {
    const manager = createManager({ idleTimeout: 0.5 });
    const events = recordEvents(manager);
    await manager.call('echo', 1);
    await sleep(300);
    await manager.call('echo', 2); // resets the idle clock
    const lastReply = Date.now();
    expect(await eventually(() => events.some((e) => e.event === 'pod.stopped'), 3000, 5)).toBe(true);
    const idleFor = Date.now() - lastReply;
    expect(idleFor).toBeGreaterThanOrEqual(450);
    expect(idleFor).toBeLessThan(2000);
    expect(events.find((e) => e.event === 'pod.reclaimed')).toMatchObject({
      recipe: 'echo',
      idleSeconds: 0.5,
    });
    expect(await manager.list()).toEqual([]);
    expect(await manager.call('echo', 3)).toBe(3); // and comes back on demand
  });

  it('never reclaims a busy pod', async () => {
    const manager = createManager({ idleTimeout: 0.2 });
    const events = recordEvents(manager);
    expect(await manager.call('concurrent', { sleep: 1.2 })).toMatchObject({ peak: 1 });
    expect(events.filter((e) => e.event === 'pod.reclaimed')).toEqual([]);
    expect(await eventually(() => events.some((e) => e.event === 'pod.reclaimed'), 2000)).toBe(true);
  });

  it('keepAlive 0 stops the pod right after the reply; -1 keeps it past the idle timeout', async () => {
    const manager = createManager({ idleTimeout: 0.3 });
    const events = recordEvents(manager);
    await manager.call('echo', 'a', { keepAlive: 0 });
    expect(await eventually(() => events.some((e) => e.event === 'pod.stopped'), 1000)).toBe(true);
    await manager.call('echo', 'b', { keepAlive: -1 });
    // No reclaim is scheduled (unit/supervisor pins that a negative timeout never fires).
    expect(await manager.list()).toEqual([
      expect.objectContaining({ state: 'ready', reclaimInSeconds: null }),
    ]);
  });

  it('uses the recipe idleTimeout over the manager default', async () => {
    const dir = tempDir();
    cpSync(join(FIXTURE_RECIPES, '..', '..', '..', 'recipes', 'echo'), join(dir, 'quick'), {
      recursive: true,
    });
    writeFileSync(
      join(dir, 'quick', 'recipe.json'),
      JSON.stringify({ name: 'quick', capability: 'quick', entry: 'echo.py', idleTimeout: 0.2 }),
    );
    const manager = createManager({ recipePath: [dir, FIXTURE_RECIPES], idleTimeout: 300 });
    const events = recordEvents(manager);
    await manager.call('quick', 1);
    expect(await eventually(() => events.some((e) => e.event === 'pod.reclaimed'), 2000)).toBe(true);
  });
});

describe('memory budget', () => {
  function hogs(names: string[], mb: number): string {
    const dir = tempDir();
    for (const name of names) {
      mkdirSync(join(dir, name));
      cpSync(join(FIXTURE_RECIPES, 'hog', 'pod.py'), join(dir, name, 'pod.py'));
      writeFileSync(
        join(dir, name, 'recipe.json'),
        JSON.stringify({ name, capability: name, entry: 'pod.py', config: { mb }, memoryMB: mb + 10 }),
      );
    }
    return dir;
  }

  it('evicts idle pods least recently used first, judged by measured RSS', async () => {
    const dir = hogs(['hog-a', 'hog-b', 'hog-c'], 60);
    const manager = createManager({ recipePath: [dir], maxMemoryMB: 170 });
    const events = recordEvents(manager);
    await manager.call('hog-a', {});
    await manager.call('hog-b', {});
    await manager.call('hog-a', {}); // a is now more recent than b
    const measured = await manager.list();
    for (const pod of measured) expect(pod.rssMB).toBeGreaterThan(60);
    await manager.call('hog-c', {});
    const evicted = events
      .filter((e) => e.event === 'pod.evicted')
      .map((e) => ('recipe' in e ? e.recipe : ''));
    expect(evicted).toEqual(['hog-b']);
    expect((await manager.list()).map((p) => p.recipe).sort()).toEqual(['hog-a', 'hog-c']);
    const { usedMB, maxMB } = await manager.memory();
    expect(usedMB).toBeLessThanOrEqual(maxMB);
  });

  it('never evicts a busy pod: the spawn waits, then fails with NO_MEMORY', async () => {
    const dir = hogs(['hog-a', 'hog-b'], 60);
    const manager = createManager({ recipePath: [dir], maxMemoryMB: 110, memoryWait: 0.5 });
    await manager.start('hog-a');
    const busy = manager.call('hog-a', { sleep: 1.5 });
    await sleep(100);
    await expect(manager.call('hog-b', {})).rejects.toMatchObject({ code: 'NO_MEMORY' });
    expect(await busy).toEqual({ mb: 60 });
    // Once a is idle it can be evicted for b.
    expect(await manager.call('hog-b', {})).toEqual({ mb: 60 });
    expect((await manager.list()).map((p) => p.recipe)).toEqual(['hog-b']);
  });

  it('a pod that turns busy while an earlier victim is being stopped is not stopped', async () => {
    const dir = hogs(['slow-exit', 'hog-b', 'hog-c'], 30);
    writeFileSync(
      join(dir, 'hog-c', 'recipe.json'),
      JSON.stringify({
        name: 'hog-c',
        capability: 'hog-c',
        entry: 'pod.py',
        config: { mb: 30 },
        memoryMB: 130,
      }),
    );
    // slow-exit takes its whole stop grace to die: its exit path sleeps (shutdown and SIGTERM both end there)
    const hog = readFileSync(join(dir, 'slow-exit', 'pod.py'), 'utf8');
    writeFileSync(
      join(dir, 'slow-exit', 'pod.py'),
      `import os, time\n_exit = os._exit\nos._exit = lambda code: (time.sleep(60), _exit(code))\n${hog}`,
    );
    // a and b fit (~45 MB each); c (estimated 130 MB) fits only once both are stopped
    const manager = createManager({ recipePath: [dir], maxMemoryMB: 160, memoryWait: 10, stopGrace: 1 });
    const events = recordEvents(manager);
    const order: string[] = [];
    onCleanup(
      manager.events.on('event', (event) =>
        order.push(`${event.event}:${'recipe' in event ? event.recipe : ''}`),
      ),
    );
    await manager.call('slow-exit', {});
    await manager.call('hog-b', {});
    const c = manager.call('hog-c', {});
    expect(await eventually(() => events.some((e) => e.event === 'pod.evicted'), 10_000)).toBe(true);
    // the first victim is stopping (for its whole grace, 1 s); b, the next one, takes a call now (the
    // hot path) that outlasts that stop and half of a stop of its own (SIGTERM at half the grace)
    const b = manager.call('hog-b', { sleep: 2.5 }).then(
      (result) => {
        order.push('b answered');
        return result;
      },
      (error: unknown) => error,
    );
    expect(await b).toEqual({ mb: 30 });
    expect(await c).toEqual({ mb: 30 });
    const evictions = order.filter((entry) => entry.startsWith('pod.evicted') || entry === 'b answered');
    // b may make room for c, but only once its call was answered
    expect(evictions).toEqual(['pod.evicted:slow-exit', 'b answered', 'pod.evicted:hog-b']);
  });
});

describe('memory estimate and fairness', () => {
  /** Recipes that allocate on demand: `{alloc: MB}` keeps that much resident; `{sleep: s}` stays busy. */
  function growers(specs: { name: string; memoryMB?: number }[]): string {
    const dir = tempDir();
    const code = [
      'import time',
      '',
      'def process(payload, ctx):',
      '    mb = payload.get("alloc", 0)',
      '    if mb:',
      '        block = bytearray(mb * 1024 * 1024)',
      '        block[::4096] = b"x" * len(range(0, len(block), 4096))',
      '        ctx.state.setdefault("blocks", []).append(block)',
      '    time.sleep(payload.get("sleep", 0))',
      '    return {"ok": True}',
      '',
    ].join('\n');
    for (const { name, memoryMB } of specs) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'pod.py'), code);
      writeFileSync(
        join(dir, name, 'recipe.json'),
        JSON.stringify({ name, capability: name, entry: 'pod.py', ...(memoryMB ? { memoryMB } : {}) }),
      );
    }
    return dir;
  }

  it('one large call does not lock the recipe out: the estimate is the RSS at ready, not the peak', async () => {
    const dir = growers([{ name: 'grow' }]);
    const manager = createManager({ recipePath: [dir], maxMemoryMB: 300, memoryWait: 0.5 });
    expect(await manager.call('grow', { alloc: 400 })).toEqual({ ok: true });
    const [big] = await manager.list();
    expect(big?.rssMB).toBeGreaterThan(400);
    await manager.stop({ target: 'grow' });
    expect(await manager.call('grow', {})).toEqual({ ok: true });
  });

  it('a spawn that cannot fit even with every idle pod evicted evicts nothing', async () => {
    const dir = growers([{ name: 'idle' }, { name: 'busy' }, { name: 'huge', memoryMB: 150 }]);
    const manager = createManager({ recipePath: [dir], maxMemoryMB: 200, memoryWait: 0.5 });
    const events = recordEvents(manager);
    await manager.call('idle', { alloc: 40 });
    await manager.call('busy', { alloc: 60 });
    const busy = manager.call('busy', { sleep: 2 }).catch((e: unknown) => e);
    await expect(manager.call('huge', {})).rejects.toMatchObject({ code: 'NO_MEMORY' });
    expect(events.filter((e) => e.event === 'pod.evicted')).toEqual([]);
    expect((await manager.list()).map((pod) => pod.recipe).sort()).toEqual(['busy', 'idle']);
    expect(await busy).toEqual({ ok: true });
  });

  it('a spawn that fits starts at once while another waits for memory; the waiter gets in later', async () => {
    const dir = growers([{ name: 'busy' }, { name: 'huge', memoryMB: 150 }, { name: 'small', memoryMB: 20 }]);
    const manager = createManager({ recipePath: [dir], maxMemoryMB: 200, memoryWait: 8 });
    await manager.call('busy', { alloc: 80 });
    const busy = manager.call('busy', { sleep: 3 });
    const events = recordEvents(manager);
    const huge = manager.call('huge', {});
    expect(await manager.call('small', {})).toEqual({ ok: true });
    // small became ready while huge was still waiting for memory (busy runs 3 s more)
    const spawned = () => events.filter((e) => e.event === 'pod.spawned').map((e) => e.recipe);
    expect(spawned()).toEqual(['small']);
    await busy;
    expect(await huge).toEqual({ ok: true });
    expect(spawned()).toEqual(['small', 'huge']);
  });
});

describe('close', () => {
  it('stops every pod and refuses later calls with SHUTTING_DOWN', async () => {
    const manager = createManager();
    await Promise.all([
      manager.call('echo', 1),
      manager.call('async-pod', { n: 1 }),
      manager.start('stubborn'),
    ]);
    expect(await manager.list()).toHaveLength(3);
    await manager.close();
    expect(await manager.list()).toEqual([]);
    await expect(manager.call('echo', 1)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});

describe('restarts', () => {
  const fastRestart = {
    backoffBase: 0.05,
    backoffFactor: 1.5,
    backoffCap: 1,
    unstableWindow: 10,
    maxUnstable: 3,
  };

  it('a ready pod killed from outside (SIGKILL, SIGTERM) restarts on the next call and never turns fatal', async () => {
    const manager = createManager({ restart: fastRestart });
    const events = recordEvents(manager);
    for (let i = 0; i < 8; i++) {
      expect(await manager.call('echo', i)).toBe(i);
      const [pod] = await manager.list();
      process.kill(pidOf(pod), i % 2 === 0 ? 'SIGKILL' : 'SIGTERM');
      expect(await eventually(() => events.filter((e) => e.event === 'pod.crashed').length === i + 1)).toBe(
        true,
      );
    }
    expect(await manager.call('echo', 'last')).toBe('last');
    expect(events.filter((e) => e.event === 'pod.fatal')).toEqual([]);
  });

  it('a SIGKILL during calls answers them POD_CRASHED within 1 s; the next call respawns and succeeds', async () => {
    const manager = createManager({ restart: fastRestart });
    await manager.start('concurrent');
    const [pod] = await manager.list();
    const calls = [1, 2, 3].map(() => manager.call('concurrent', { sleep: 5 }).catch((e: unknown) => e));
    while ((await manager.list())[0]?.inFlight !== 3) await sleep(10); // polls until all 3 were sent
    const killedAt = Date.now();
    process.kill(pidOf(pod), 'SIGKILL');
    const errors = await Promise.all(calls);
    expect(Date.now() - killedAt).toBeLessThan(1000);
    for (const error of errors)
      expect(error).toMatchObject({ code: 'POD_CRASHED', details: { signal: 'SIGKILL' } });
    expect(await manager.call('concurrent', { sleep: 0 })).toMatchObject({ peak: 1 });
  });

  it('a fatal recipe is tried again on its own after its cool-down; start clears it at once', async () => {
    const manager = createManager({ restart: { ...fastRestart, maxUnstable: 2, fatalCooldown: 0.5 } });
    const code = (promise: Promise<unknown>) =>
      promise.then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? 'none',
      );
    expect(await code(manager.call('crash-import', {}))).toBe('POD_CRASHED');
    expect(await code(manager.call('crash-import', {}))).toBe('POD_CRASHED');
    const fatalAt = Date.now();
    const fatal = await manager.call('crash-import', {}).catch((e: unknown) => e);
    expect(fatal).toMatchObject({ code: 'POD_FATAL', details: { retryInMs: expect.any(Number) } });
    let seen = 'POD_FATAL';
    while (seen === 'POD_FATAL' && Date.now() - fatalAt < 5000) {
      await sleep(20); // polls the condition (POD_FATAL no more) every 20 ms
      seen = await code(manager.call('crash-import', {}));
    }
    expect(seen).toBe('POD_CRASHED'); // it was spawned again
    expect(Date.now() - fatalAt).toBeGreaterThanOrEqual(450);
    // one more crash after the cool-down is fatal again (for twice as long); start clears it at once
    expect(await code(manager.call('crash-import', {}))).toBe('POD_FATAL');
    await expect(manager.start('crash-import')).rejects.toMatchObject({ code: 'POD_CRASHED' });
  });
});
