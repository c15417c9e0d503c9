/**
 * routeCall reports each call's duration and outcome only while someone counts calls (the metrics
 * page): a warm call nobody counts reads no clock and hangs nothing on its answer. Pure logic, with a
 * stand-in supervisor and pod; real calls are in manager.test.ts and http-metrics.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { PodkeeperError } from '../../src/errors.js';
import { Emitter } from '../../src/events.js';
import { type CallRouting, routeCall } from '../../src/manager/call-routing.js';
import type { CallFinished } from '../../src/manager/events.js';
import type { Supervisor } from '../../src/manager/supervisor.js';
import type { Pod } from '../../src/pod/pod.js';

function routing(answer: () => Promise<unknown>) {
  const calls = new Emitter<{ finished: CallFinished }>();
  const pod = { request: answer } as unknown as Pod;
  const supervisor = {
    loaded: { recipe: { timeout: undefined } },
    podForCall: () => pod,
  } as unknown as Supervisor;
  const table: CallRouting = {
    accepting: () => true,
    get: (target) => (target === 'echo' ? supervisor : undefined),
    supervisor: () => Promise.reject(new Error('not warm')),
    resolveName: (target) => target,
    emit: () => undefined,
    observed: () => calls.has('finished'),
    finished: (call) => calls.emit('finished', call),
  };
  return { table, calls };
}

describe('routeCall reports finished calls to whoever counts them', () => {
  it('reports ok and the error code while observed, nothing once the listener is gone', async () => {
    let next: () => Promise<unknown> = () => Promise.resolve('hi');
    const { table, calls } = routing(() => next());
    const seen: CallFinished[] = [];
    const stop = calls.on('finished', (call) => seen.push(call));
    expect(await routeCall('echo', {}, {}, table)).toBe('hi');
    next = () => Promise.reject(new PodkeeperError('TIMEOUT', 'too slow'));
    await expect(routeCall('echo', {}, {}, table)).rejects.toThrow('too slow');
    await Promise.resolve(); // the report hangs on the answer: one more tick
    expect(seen.map(({ recipe, outcome }) => [recipe, outcome])).toEqual([
      ['echo', 'ok'],
      ['echo', 'TIMEOUT'],
    ]);
    expect(seen.every((call) => call.ms >= 0)).toBe(true);
    stop();
    expect(calls.has('finished')).toBe(false);
    next = () => Promise.resolve('again');
    expect(await routeCall('echo', {}, {}, table)).toBe('again');
    await Promise.resolve();
    expect(seen).toHaveLength(2);
  });
});
