/**
 * Supervisor timing rules with fake timers and fake pods: the idle timer (which keep-alive wins, when
 * it fires, what it spares), one spawn for concurrent callers, the restart backoff and the fatal state.
 * The same rules against real pods and wall clocks are in manager and pod-lifecycle.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PodkeeperError } from '../../src/errors.js';
import { RestartPolicy } from '../../src/manager/restart-policy.js';
import { Supervisor } from '../../src/manager/supervisor.js';
import type { PodExit } from '../../src/pod/pod.js';
import { recipeSchema } from '../../src/recipes/schema.js';
import { FakePod } from './fake-pod.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function supervisor(options: { idleTimeout?: number; recipeIdle?: number; maxUnstable?: number } = {}) {
  const recipe = recipeSchema.parse({
    name: 'r',
    capability: 'r',
    entry: 'pod.py',
    ...(options.recipeIdle === undefined ? {} : { idleTimeout: options.recipeIdle }),
  });
  const policy = new RestartPolicy({
    backoffBaseMs: 500,
    backoffFactor: 2,
    backoffCapMs: 4000,
    unstableWindowMs: 10_000,
    maxUnstable: options.maxUnstable ?? 5,
    fatalCooldownMs: 30_000,
    fatalCooldownCapMs: 600_000,
  });
  const pods: FakePod[] = [];
  const reclaimed: { pod: string; seconds: number }[] = [];
  const exits: { exit: PodExit; fatal: PodkeeperError | undefined }[] = [];
  const sup = new Supervisor({ recipe, dir: '/nowhere', builtin: false }, policy, {
    spawn: async () => {
      const pod = new FakePod(`r-${pods.length + 1}`);
      pods.push(pod);
      return pod.asPod;
    },
    onExit: (_sup, exit, fatal) => exits.push({ exit, fatal }),
    spawnIfFits: async () => undefined,
    onReclaim: (_sup, pod, seconds) => reclaimed.push({ pod: pod.id, seconds }),
    onNotStarted: () => undefined,
    idleTimeout: options.idleTimeout ?? 60,
    maxQueue: 1024,
    isClosing: () => false,
  });
  return { sup, pods, reclaimed, exits };
}

describe('Supervisor idle timer', () => {
  it('stops an idle pod exactly idleTimeout after its last reply; each reply starts the count again', async () => {
    const { sup, pods, reclaimed } = supervisor({ idleTimeout: 60 });
    await sup.acquire();
    const pod = pods[0] as FakePod;
    pod.becomeIdle();
    await vi.advanceTimersByTimeAsync(30_000);
    pod.becomeIdle(); // another reply
    await vi.advanceTimersByTimeAsync(59_999);
    expect(pod.stops).toBe(0);
    expect(sup.reclaimInSeconds(pod.asPod)).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(pod.stops).toBe(1);
    expect(reclaimed).toEqual([{ pod: 'r-1', seconds: 60 }]);
  });

  it("uses the call's keep-alive over the recipe's idleTimeout over the default", async () => {
    const { sup, pods } = supervisor({ idleTimeout: 60, recipeIdle: 20 });
    await sup.acquire();
    const pod = pods[0] as FakePod;
    pod.becomeIdle();
    await vi.advanceTimersByTimeAsync(19_999);
    expect(pod.stops).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(pod.stops).toBe(1);

    await sup.acquire();
    const next = pods[1] as FakePod;
    sup.keepAlive = 5;
    next.becomeIdle();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(next.stops).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(next.stops).toBe(1);
  });

  it('stops at once with 0, never with a negative timeout', async () => {
    const zero = supervisor({ idleTimeout: 0 });
    await zero.sup.acquire();
    (zero.pods[0] as FakePod).becomeIdle();
    expect(zero.pods[0]?.stops).toBe(1);

    const never = supervisor({ idleTimeout: -1 });
    await never.sup.acquire();
    const pod = never.pods[0] as FakePod;
    pod.becomeIdle();
    expect(never.sup.reclaimInSeconds(pod.asPod)).toBeNull();
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect(pod.stops).toBe(0);
  });

  it('spares a pod that is busy again when the timer fires', async () => {
    const { sup, pods, reclaimed } = supervisor({ idleTimeout: 10 });
    await sup.acquire();
    const pod = pods[0] as FakePod;
    pod.becomeIdle();
    pod.state = 'busy';
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pod.stops).toBe(0);
    expect(reclaimed).toEqual([]);
  });
});

describe('Supervisor spawns and restarts', () => {
  it('gives concurrent callers one spawn, and the live pod afterwards', async () => {
    const { sup, pods } = supervisor();
    const [a, b] = await Promise.all([sup.acquire(), sup.acquire()]);
    expect(a).toBe(b);
    expect(await sup.acquire()).toBe(a);
    expect(pods).toHaveLength(1);
  });

  it('after a crash at start waits the backoff, base × factorⁿ, to the millisecond', async () => {
    const { sup, pods } = supervisor();
    await sup.acquire();
    for (const backoff of [500, 1000, 2000]) {
      (pods.at(-1) as FakePod).end('crashed', { exitCode: 1 });
      const spawned = pods.length;
      const next = sup.acquire();
      await vi.advanceTimersByTimeAsync(backoff - 1);
      expect(pods).toHaveLength(spawned);
      await vi.advanceTimersByTimeAsync(1);
      expect(pods).toHaveLength(spawned + 1);
      await next;
    }
    expect(sup.restarts).toBe(3);
  });

  it('turns fatal after maxUnstable crashes, refuses with POD_FATAL for the cool-down, then tries once more', async () => {
    const { sup, pods, exits } = supervisor({ maxUnstable: 2 });
    await sup.acquire();
    (pods[0] as FakePod).end('crashed', { exitCode: 1 });
    const second = sup.acquire();
    await vi.advanceTimersByTimeAsync(500);
    await second;
    (pods[1] as FakePod).end('crashed', { exitCode: 1 });
    expect(exits.map((e) => e.fatal?.code)).toEqual([undefined, 'POD_FATAL']);
    await expect(sup.acquire()).rejects.toMatchObject({ code: 'POD_FATAL' });
    expect(sup.fatalState()).toMatchObject({ crashes: 2, retryInMs: 30_000 });
    await vi.advanceTimersByTimeAsync(29_999);
    await expect(sup.acquire()).rejects.toMatchObject({ code: 'POD_FATAL' });
    await vi.advanceTimersByTimeAsync(1);
    const retry = sup.acquire();
    await vi.advanceTimersByTimeAsync(0);
    await expect(retry).resolves.toBe(pods[2]?.asPod);
  });

  it('brings back at once a pod killed for ignoring a cancel', async () => {
    const { sup, pods } = supervisor();
    await sup.acquire();
    (pods[0] as FakePod).end('killed', { signal: 'SIGKILL' });
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(2);
    expect(sup.pods).toEqual([pods[1]?.asPod]);
  });
});
