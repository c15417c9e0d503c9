/** Requests, results and isolation of the protocol channel, against real fixture pods. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { RequestEvent } from '../src/index.js';
import { createManager, ourProcesses, pidOf, recordEvents } from './helpers.js';
import { commandLine } from './processes.js';

describe('a pod answers requests', () => {
  it('echoes the exact payload back, spawning the pod on demand', async () => {
    const manager = createManager();
    const payload = { text: 'Hello', nested: { n: 1.5, list: [1, 'two', null] }, unicode: 'żółw 🐢' };
    expect(await manager.call('echo', payload)).toEqual(payload);
    const [pod] = await manager.list();
    expect(pod).toMatchObject({ recipe: 'echo', state: 'ready', calls: 1, inFlight: 0, queued: 0 });
    expect(pod?.rssMB).toBeGreaterThan(1);
    // The leak check sees a live pod (its title is set without hiding its environment)...
    expect(ourProcesses()).toContain(pod?.pid);
    if (hasSetproctitle()) expect(commandLine(pidOf(pod))).toMatch(/^podkeeper: echo/);
    await manager.close();
    // ...and none once it is stopped.
    expect(ourProcesses()).toEqual([]);
  });

  it('serves a second action and rejects an unknown one with UNKNOWN_ACTION', async () => {
    const manager = createManager();
    expect(await manager.call('echo', { text: 'abc' }, { action: 'reverse' })).toEqual({ text: 'cba' });
    await expect(manager.call('echo', {}, { action: 'nope' })).rejects.toMatchObject({
      code: 'UNKNOWN_ACTION',
    });
    expect(await manager.call('echo', 'still serving')).toBe('still serving');
  });

  it('resolves a target by capability and rejects an unknown one with UNKNOWN_TARGET', async () => {
    const manager = createManager();
    expect(await manager.call('async-pod', { n: 21 })).toEqual({ doubled: 42 });
    await expect(manager.call('no-such-thing', {})).rejects.toMatchObject({
      code: 'UNKNOWN_TARGET',
      message: expect.stringContaining('no-such-thing'),
    });
  });

  it('stops by target: an unknown one is UNKNOWN_TARGET, a known one with no pod stops nothing', async () => {
    const manager = createManager();
    await expect(manager.stop({ target: 'no-such-thing' })).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    expect(await manager.stop({ target: 'echo' })).toEqual([]);
    expect(await manager.call('echo', 'up')).toBe('up');
    expect((await manager.stop({ target: 'echo' })).map((pod) => pod.recipe)).toEqual(['echo']);
    expect(await manager.list()).toEqual([]);
  });

  it('keeps print() and fd-1 writes off the channel: no forged line reaches a caller', async () => {
    const manager = createManager();
    const events = recordEvents(manager);
    for (let i = 0; i < 3; i++) {
      expect(await manager.call('noisy', { i })).toEqual({ clean: { i } });
    }
    const ready = events.filter((event) => event.event === 'pod.ready');
    expect(ready).toHaveLength(1);
    const logs = await manager.logs({ target: 'noisy' }, 1000);
    const stderr = logs.filter((line) => line.source === 'stderr').map((line) => line.message);
    expect(stderr).toContain('a stray print');
    expect(stderr.some((line) => line.includes('forged by os.write'))).toBe(true);
    expect(stderr.some((line) => line.includes('forged by a child'))).toBe(true);
    expect(stderr.some((line) => line.includes('"capability":"forged"'))).toBe(true);
  });

  it('streams generator chunks and progress in order before the result', async () => {
    const manager = createManager();
    const seen: RequestEvent[] = [];
    const result = await manager.call('stream', { text: 'one two three' }, { onEvent: (e) => seen.push(e) });
    expect(result).toBeNull();
    expect(seen.filter((e) => e.type === 'chunk').map((e) => (e.type === 'chunk' ? e.data : null))).toEqual([
      { token: 'one' },
      { token: 'two' },
      { token: 'three' },
    ]);
    expect(
      seen.filter((e) => e.type === 'progress').map((e) => (e.type === 'progress' ? e.progress : 0)),
    ).toEqual([1 / 3, 2 / 3, 1]);
  });

  it('awaits an async handler', async () => {
    const manager = createManager();
    const results = await Promise.all([1, 2, 3].map((n) => manager.call('async-pod', { n })));
    expect(results).toEqual([{ doubled: 2 }, { doubled: 4 }, { doubled: 6 }]);
  });

  it('runs up to the recipe concurrency at once, and no more', async () => {
    const manager = createManager();
    await manager.start('concurrent');
    const results = (await Promise.all(
      Array.from({ length: 8 }, () => manager.call('concurrent', { sleep: 0.3 })),
    )) as { started: number; ended: number; peak: number }[];
    const peak = Math.max(...results.map((r) => r.peak));
    expect(peak).toBe(4);
    // The first four overlapped: each started before any of them ended.
    const firstEnd = Math.min(...results.map((r) => r.ended));
    expect(results.filter((r) => r.started < firstEnd)).toHaveLength(4);
  });

  it('reports a handler exception as HANDLER_ERROR with the traceback, and keeps serving', async () => {
    const manager = createManager();
    const error = await manager.call('stream', { notext: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HANDLER_ERROR', message: expect.stringContaining('KeyError') });
    expect((error as { details: { traceback: string } }).details.traceback).toContain('Traceback');
    const chunks: unknown[] = [];
    await manager.call('stream', { text: 'ok' }, { onEvent: (e) => chunks.push(e) });
    expect(chunks.length).toBeGreaterThan(0);
  });
});

function hasSetproctitle(): boolean {
  return spawnSync('python3', ['-c', 'import setproctitle'], { stdio: 'ignore' }).status === 0;
}
