/**
 * Replica scaling and warm pools with fake timers and fake pods: which replica takes a call, when
 * another starts (every replica full, below `replicas.max`, inside the budget), when one stops (its
 * idle timer, down to `minWarm`), which ends refill a warm pool, and the fair queue of calls that wait
 * for a free replica. Real pods: test/replicas.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cancellation } from '../../src/cancellation.js';
import { PodkeeperError } from '../../src/errors.js';
import type { WaitingCall } from '../../src/manager/fair-queue.js';
import { chooseReplica } from '../../src/manager/replica-choice.js';
import { RestartPolicy } from '../../src/manager/restart-policy.js';
import { Supervisor } from '../../src/manager/supervisor.js';
import type { Pod } from '../../src/pod/pod.js';
import { recipeSchema } from '../../src/recipes/schema.js';
import { FakePod } from './fake-pod.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function pool(
  options: {
    max?: number;
    minWarm?: number;
    fits?: () => boolean;
    concurrency?: number;
    /** Replaces the spawn of a replica (spawnIfFits): the pod made by `make`, or a failure. */
    replica?: (make: () => Pod) => Promise<Pod | undefined>;
    /** Replaces the spawn of a first pod. */
    first?: (make: () => Pod) => Promise<Pod>;
  } = {},
) {
  const recipe = recipeSchema.parse({
    name: 'r',
    capability: 'r',
    entry: 'pod.py',
    concurrency: options.concurrency ?? 1,
    minWarm: options.minWarm ?? 0,
    replicas: { max: options.max ?? 2 },
  });
  const policy = new RestartPolicy({
    backoffBaseMs: 500,
    backoffFactor: 2,
    backoffCapMs: 4000,
    unstableWindowMs: 10_000,
    maxUnstable: 5,
    fatalCooldownMs: 30_000,
    fatalCooldownCapMs: 600_000,
  });
  const pods: FakePod[] = [];
  const refused: string[] = [];
  const make = () => {
    const pod = new FakePod(`r-${pods.length + 1}`);
    pods.push(pod);
    return pod.asPod;
  };
  const attempts = { replicas: 0 };
  const sup = new Supervisor({ recipe, dir: '/nowhere', builtin: false }, policy, {
    spawn: async () => (options.first ? options.first(make) : make()),
    spawnIfFits: async () => {
      attempts.replicas += 1;
      if (options.replica) return options.replica(make);
      return (options.fits ?? (() => true))() ? make() : undefined;
    },
    onExit: () => undefined,
    onReclaim: () => undefined,
    onNotStarted: (_sup, why, error) =>
      refused.push(error === undefined ? `${why}: no room` : `${why}: error`),
    idleTimeout: 60,
    maxQueue: 1024,
    isClosing: () => false,
  });
  return { sup, pods, refused, attempts };
}

/** `n` calls in flight on a fake pod (what a real pod's request table would report). */
function load(pod: FakePod | undefined, n: number): void {
  if (!pod) throw new Error('no such pod');
  pod.inFlight = n;
  pod.state = n > 0 ? 'busy' : 'ready';
}

describe('chooseReplica', () => {
  const view = (state: 'starting' | 'ready' | 'busy', inFlight: number, queued = 0) => ({
    state,
    inFlight,
    queued,
  });

  it('sends a call to the replica with the fewest outstanding requests, queued ones included', () => {
    const a = view('busy', 1, 3);
    const b = view('busy', 2);
    expect(chooseReplica([a, b], 1, 0)).toEqual({ pod: b, saturated: true });
    expect(chooseReplica([a, b], 4, 0)).toEqual({ pod: b, saturated: false });
  });

  it('takes turns among equally loaded replicas', () => {
    const a = view('ready', 0);
    const b = view('ready', 0);
    const c = view('ready', 0);
    expect([0, 1, 2, 3].map((turn) => chooseReplica([a, b, c], 1, turn).pod)).toEqual([a, b, c, a]);
  });

  it('sends calls to a starting replica only when none is up', () => {
    const starting = view('starting', 0);
    const up = view('busy', 5);
    expect(chooseReplica([starting, up], 1, 0).pod).toBe(up);
    expect(chooseReplica([starting], 1, 0).pod).toBe(starting);
    expect(chooseReplica([], 1, 0)).toEqual({ pod: undefined, saturated: false });
  });
});

describe('Supervisor replicas', () => {
  it('starts another replica only when every one is full, never more than replicas.max', async () => {
    const { sup, pods } = pool({ max: 2 });
    await sup.acquire();
    expect(sup.podForCall()).toBe(pods[0]?.asPod); // idle: no scaling
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(1);
    load(pods[0], 1);
    expect(sup.podForCall()).toBe(pods[0]?.asPod); // this call queues; the next ones get a replica
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(2);
    expect(sup.replicaOf(pods[1]?.asPod as never)).toBe(1);
    expect(sup.podForCall()).toBe(pods[1]?.asPod);
    load(pods[1], 1);
    sup.podForCall();
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(2);
  });

  it('starts no replica the budget refuses, and asks it again only a second later', async () => {
    let fits = false;
    const { sup, pods, refused } = pool({ max: 3, fits: () => fits });
    await sup.acquire();
    load(pods[0], 2);
    sup.podForCall();
    await vi.advanceTimersByTimeAsync(0);
    expect(refused).toEqual(['replica: no room']);
    fits = true;
    sup.podForCall();
    await vi.advanceTimersByTimeAsync(999);
    sup.podForCall();
    expect(pods).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    sup.podForCall();
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(2);
  });

  it('stops idle replicas after the idle timeout down to minWarm, which it keeps ready', async () => {
    const { sup, pods } = pool({ max: 2, minWarm: 1 });
    await sup.acquire();
    load(pods[0], 1);
    sup.podForCall();
    await vi.advanceTimersByTimeAsync(0);
    pods[0]?.becomeIdle();
    pods[1]?.becomeIdle();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(pods.map((pod) => pod.stops)).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(pods.map((pod) => pod.stops).sort()).toEqual([0, 1]);
    const kept = sup.livePods()[0];
    expect(kept).toBeDefined();
    expect(sup.reclaimInSeconds(kept as never)).toBeNull();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(sup.livePods()).toEqual([kept]);
    expect(pods).toHaveLength(2);
  });

  it("refills a warm pool after a call's keep-alive reclaimed its pod, and after a crash", async () => {
    const { sup, pods } = pool({ max: 1, minWarm: 1 });
    await sup.warm();
    expect(pods).toHaveLength(1);
    sup.keepAlive = 0;
    pods[0]?.becomeIdle(); // keepAlive 0: reclaimed after this reply
    expect(pods[0]?.stops).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(2);
    expect(sup.keepAlive).toBeUndefined(); // the refilled pod stays warm
    pods[1]?.end('crashed', { exitCode: 1, uptimeMs: 60_000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(pods).toHaveLength(3);
    expect(sup.livePods()).toEqual([pods[2]?.asPod]);
  });

  it('does not refill a pool whose pods were stopped on purpose (an eviction, then a stop)', async () => {
    const { sup, pods } = pool({ max: 2, minWarm: 2 });
    await sup.warm();
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(2);
    await pods[0]?.stop(); // what the memory budget's eviction does
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pods).toHaveLength(2);
    await sup.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pods).toHaveLength(2);
    expect(sup.livePods()).toEqual([]);
  });

  it('keeps serving on the other replica when one crashes', async () => {
    const { sup, pods } = pool({ max: 2 });
    await sup.acquire();
    load(pods[0], 1);
    sup.podForCall();
    await vi.advanceTimersByTimeAsync(0);
    pods[0]?.end('crashed', { exitCode: 1, uptimeMs: 60_000 });
    expect(sup.podForCall()).toBe(pods[1]?.asPod);
    await expect(sup.acquire()).resolves.toBe(pods[1]?.asPod);
    expect(sup.replicaOf(pods[1]?.asPod as never)).toBe(1);
  });
});

describe('the fair queue of a replicated recipe', () => {
  /** A call whose sends are recorded; `answer()` answers the latest send. */
  function call(name: string, sent: string[], extra: Partial<WaitingCall<Pod>> = {}) {
    let answer: (value: unknown) => void = () => undefined;
    const waiting: WaitingCall<Pod> = {
      timeoutMs: undefined,
      send: (pod) => {
        const fake = pod as unknown as FakePod;
        load(fake, fake.inFlight + 1); // what a real pod's request table does
        sent.push(`${name}→${fake.id}`);
        return new Promise((resolve) => {
          answer = resolve;
        });
      },
      ...extra,
    };
    return { waiting, answer: (value: unknown) => answer(value) };
  }

  async function twoBusyReplicas() {
    const { sup, pods } = pool({ max: 2 });
    await sup.acquire();
    load(pods[0], 1);
    sup.podForCall(); // starts the second replica
    await vi.advanceTimersByTimeAsync(0);
    load(pods[1], 1);
    return { sup, pods };
  }

  it('holds calls while every replica is full and hands the oldest to the first replica that frees a slot', async () => {
    const { sup, pods } = await twoBusyReplicas();
    const sent: string[] = [];
    const a = call('a', sent);
    const b = call('b', sent);
    const answered = sup.dispatch(a.waiting);
    void sup.dispatch(b.waiting);
    expect(sent).toEqual([]);
    pods[1]?.becomeIdle(); // r-2 frees first: the oldest call goes there, not behind r-1's call
    expect(sent).toEqual(['a→r-2']);
    a.answer('done');
    await expect(answered).resolves.toBe('done');
    pods[0]?.becomeIdle();
    expect(sent).toEqual(['a→r-2', 'b→r-1']);
    // With nothing waiting, a call goes straight to a replica with a free slot.
    const c = call('c', sent);
    load(pods[0], 1);
    pods[1]?.becomeIdle();
    void sup.dispatch(c.waiting);
    expect(sent.at(-1)).toBe('c→r-2');
  });

  it('a waiting call can be cancelled, and waits at most its timeout', async () => {
    const { sup, pods } = await twoBusyReplicas();
    const sent: string[] = [];
    const cancellation = new Cancellation();
    const cancelled = sup.dispatch(call('a', sent, { cancellation }).waiting);
    void sup.dispatch(call('b', sent, { timeoutMs: 5000 }).waiting);
    const later = sup
      .dispatch(call('c', sent, { timeoutMs: 5000 }).waiting)
      ?.catch((error: unknown) => error);
    cancellation.cancel(new Error('client went away'));
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
    await vi.advanceTimersByTimeAsync(2000);
    pods[0]?.becomeIdle(); // b waited 2 s of its 5: sent, its timeout is the pod's request table's now
    expect(sent).toEqual(['b→r-1']);
    await vi.advanceTimersByTimeAsync(3000);
    expect(await later).toMatchObject({ code: 'TIMEOUT' }); // c still waited: no replica freed for it
    expect(sent).toEqual(['b→r-1']);
  });

  it('holds maxQueue calls per replica the recipe may run, and a stop fails the calls that wait', async () => {
    const { sup } = await twoBusyReplicas();
    const sent: string[] = [];
    const waiting = Array.from({ length: 2 * 1024 }, (_, i) => sup.dispatch(call(`c${i}`, sent).waiting));
    await expect(sup.dispatch(call('over', sent).waiting)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    await sup.stop();
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(sent).toEqual([]);
  });

  it('sends the waiting calls to the next pod when every replica crashed', async () => {
    const { sup, pods } = await twoBusyReplicas();
    const sent: string[] = [];
    void sup.dispatch(call('a', sent).waiting);
    pods[0]?.end('crashed', { exitCode: 1, uptimeMs: 60_000 });
    pods[1]?.end('crashed', { exitCode: 1, uptimeMs: 60_000 });
    await vi.advanceTimersByTimeAsync(1000); // the restart backoff
    expect(pods).toHaveLength(3);
    expect(sent).toEqual(['a→r-3']);
  });

  it('holds calls while the only pods are starting, and starts a replica when more wait than they take', async () => {
    const { sup, pods } = pool({ max: 2 });
    expect(sup.dispatch(call('first', []).waiting)).toBeUndefined(); // no pod: the caller acquires one
    await sup.acquire();
    const first = pods[0];
    if (!first) throw new Error('no pod');
    first.state = 'starting';
    const sent: string[] = [];
    void sup.dispatch(call('a', sent).waiting);
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(1); // one call waits, the starting pod will take it
    void sup.dispatch(call('b', sent).waiting);
    await vi.advanceTimersByTimeAsync(0);
    expect(pods).toHaveLength(2); // two wait for one slot on the way: another replica
    expect(sent).toEqual(['a→r-2']); // r-2 (a FakePod) is up at once: it takes the oldest call
    first.state = 'ready';
    first.events.emit('ready', { pod: first.asPod, ready: { memoryMB: 10 } as never, spawnToReadyMs: 1 });
    expect(sent).toEqual(['a→r-2', 'b→r-1']);
  });

  it('a replica whose spawn fails is not tried again until a call comes a second later', async () => {
    const { sup, pods, attempts } = pool({
      max: 2,
      replica: () => Promise.reject(new PodkeeperError('SPAWN_FAILED', 'no such interpreter')),
    });
    await sup.acquire();
    load(pods[0], 1);
    void sup.dispatch(call('a', []).waiting);
    await vi.advanceTimersByTimeAsync(5000);
    expect(attempts.replicas).toBe(1); // a failed spawn does not start another while the call waits
    void sup.dispatch(call('b', []).waiting);
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts.replicas).toBe(2); // the next call, more than a second later
  });

  it('a replica that crashes while starting is not restarted by the calls that wait, only by new ones', async () => {
    const { sup, pods, attempts } = pool({
      max: 2,
      replica: async (make) => {
        const pod = make();
        const fake = pod as unknown as FakePod;
        fake.state = 'starting';
        setTimeout(() => fake.end('crashed', { exitCode: 1, uptimeMs: 50 }), 50);
        return pod;
      },
    });
    await sup.acquire();
    load(pods[0], 1); // the healthy replica, busy with a long call
    void sup.dispatch(call('a', []).waiting);
    void sup.dispatch(call('b', []).waiting);
    await vi.advanceTimersByTimeAsync(5000);
    expect(attempts.replicas).toBe(1);
    expect(sup.fatal).toBeUndefined();
    expect(sup.livePods()).toEqual([pods[0]?.asPod]);
  });

  it('calls waiting with no pod left get the failure of the spawn they waited for', async () => {
    let fail = false;
    const { sup, pods } = pool({
      max: 2,
      first: async (make) => {
        if (fail) throw new PodkeeperError('NO_MEMORY', 'no room');
        return make();
      },
    });
    await sup.acquire();
    load(pods[0], 1);
    sup.podForCall(); // the second replica
    await vi.advanceTimersByTimeAsync(0);
    load(pods[1], 1);
    const waiting = sup.dispatch(call('w', []).waiting)?.catch((error: unknown) => error);
    for (const pod of pods) pod.state = 'stopping'; // both replicas stopped by pod id, not exited yet
    fail = true;
    const cold = sup.acquire().catch((error: unknown) => error); // a new call's spawn, after they exit
    for (const pod of pods) pod.end('stopped');
    expect(await cold).toMatchObject({ code: 'NO_MEMORY' });
    expect(await waiting).toMatchObject({ code: 'NO_MEMORY' });
  });
});
