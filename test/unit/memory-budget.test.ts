/**
 * The memory budget's rules with fake timers, fake pods and a fake RSS source: who is evicted and in
 * which order, how long a spawn that does not fit waits, and that two spawns never share free room.
 * The same budget against real pods is in manager and pod-lifecycle.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryBudget } from '../../src/manager/memory-budget.js';
import { FakePod } from './fake-pod.js';

const MB = 1024 * 1024;

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function budget(maxMB: number, waitMs: number, estimateMB: number) {
  const pods: FakePod[] = [];
  const rss = new Map<number, number>();
  const evicted: string[] = [];
  let looks = 0; // times the memory source was read
  const zygotes: {
    id: string;
    pid: number;
    recipe: string;
    sharesPages: boolean;
    stop: () => Promise<void>;
  }[] = [];
  const memory = new MemoryBudget(
    maxMB,
    waitMs,
    {
      rssOfTrees: async (pids) => new Map(pids.map((pid) => [pid, rss.get(pid) ?? 0])),
      // No pod here is forked from a zygote; a zygote counts by its resident memory.
      privateOfTrees: async () => new Map(),
      privateOfProcesses: async (pids) => {
        looks += 1;
        return new Map(pids.map((pid) => [pid, rss.get(pid) ?? 0]));
      },
      residentOfProcesses: async (pids) => new Map(pids.map((pid) => [pid, rss.get(pid) ?? 0])),
    },
    {
      livePods: () => pods.filter((pod) => pod.state !== 'stopped').map((pod) => pod.asPod),
      estimateMB: () => estimateMB,
      evict: async (pod) => {
        evicted.push(pod.id);
        await pod.stop();
      },
      zygotes: () => zygotes,
    },
  );
  /** A pod using `mb`, last used at `usedAt` (monotonic ms). */
  const pod = (id: string, mb: number, state: FakePod['state'] = 'ready', usedAt = 0) => {
    const fake = new FakePod(id, id, 1000 + pods.length);
    fake.state = state;
    fake.lastUsedMono = usedAt;
    rss.set(fake.pid as number, mb * MB);
    pods.push(fake);
    return fake;
  };
  /** The zygote of `recipe`, using `mb`; stopping it records it in `evicted`. */
  const zygote = (recipe: string, mb: number) => {
    const entry = {
      id: `zygote:${recipe}`,
      pid: 5000 + zygotes.length,
      recipe,
      sharesPages: true,
      stop: vi.fn(async () => {
        evicted.push(entry.id);
        zygotes.splice(zygotes.indexOf(entry), 1);
      }),
    };
    rss.set(entry.pid, mb * MB);
    zygotes.push(entry);
    return entry;
  };
  /** The spare pod `recipe`'s zygote holds (a new one, with a new pid, after each forked start). */
  const spare = (recipe: string, mb: number) => {
    const entry = { id: `zygote-spare:${recipe}`, pid: 6000, recipe, sharesPages: false, stop: vi.fn() };
    rss.set(entry.pid, mb * MB);
    zygotes.push(entry);
    return entry;
  };
  return { memory, pods, pod, zygote, spare, evicted, looks: () => looks };
}

/** Settles `promise` into a readable outcome without letting a rejection go unhandled. */
function outcome<T>(promise: Promise<T>) {
  const seen: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(seen, { value, done: true }),
    (error: unknown) => Object.assign(seen, { error, done: true }),
  );
  return seen;
}

describe('MemoryBudget', () => {
  it('spawns at once when the estimate fits, evicting nothing', async () => {
    const { memory, pod, evicted } = budget(100, 1000, 50);
    pod('a', 30);
    await expect(memory.reserve('new', () => 'spawned')).resolves.toBe('spawned');
    expect(evicted).toEqual([]);
  });

  it("counts a zygote's new spare pod as the one before, without reading memory on each cold start", async () => {
    const { memory, zygote, spare, looks } = budget(100, 1000, 10);
    zygote('np', 40);
    const held = spare('np', 2);
    await expect(memory.reserve('np', () => 'spawned')).resolves.toBe('spawned');
    expect(looks()).toBe(1); // the first: both measured
    held.pid = 6001; // the next spare, forked when the pod took the one before
    await expect(memory.reserve('np', () => 'spawned')).resolves.toBe('spawned');
    expect(looks()).toBe(1);
  });

  it('evicts idle pods least recently used first, and only as many as it takes', async () => {
    const { memory, pod, evicted } = budget(100, 1000, 40);
    pod('newer', 30, 'ready', 20);
    pod('older', 30, 'ready', 10);
    pod('busy', 30, 'busy', 0);
    await expect(memory.reserve('new', () => 'spawned')).resolves.toBe('spawned');
    expect(evicted).toEqual(['older']);
  });

  it('counts a starting pod at least at its estimate', async () => {
    const { memory, pod } = budget(100, 1000, 50);
    pod('loading', 5, 'starting');
    pod('warm', 5, 'ready');
    expect(Object.fromEntries(await memory.usage())).toEqual({ loading: 50, warm: 5 });
  });

  it('never evicts a busy pod: waits memoryWait, looking again every 100 ms, then NO_MEMORY', async () => {
    const { memory, pod, evicted } = budget(100, 1000, 40);
    pod('busy', 80, 'busy');
    const spawn = vi.fn(() => 'spawned');
    const reserved = outcome(memory.reserve('new', spawn));
    await vi.advanceTimersByTimeAsync(999);
    expect(reserved.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(reserved.error).toMatchObject({
      code: 'NO_MEMORY',
      details: { recipe: 'new', usedMB: 80, neededMB: 40, maxMemoryMB: 100 },
    });
    expect(spawn).not.toHaveBeenCalled();
    expect(evicted).toEqual([]);
  });

  it('gets in on the next look once the busy pod is idle, and evicts it then', async () => {
    const { memory, pod, evicted } = budget(100, 1000, 40);
    const busy = pod('busy', 80, 'busy');
    const reserved = outcome(memory.reserve('new', () => 'spawned'));
    await vi.advanceTimersByTimeAsync(250);
    busy.state = 'ready';
    expect(reserved.done).toBe(false);
    await vi.advanceTimersByTimeAsync(50); // the look at 300 ms
    expect(reserved).toMatchObject({ done: true, value: 'spawned' });
    expect(evicted).toEqual(['busy']);
  });

  it('fails at once, without waiting, when the estimate exceeds the whole budget', async () => {
    const { memory, pod } = budget(100, 60_000, 150);
    pod('idle', 10);
    const reserved = outcome(memory.reserve('huge', () => 'spawned'));
    await vi.advanceTimersByTimeAsync(0);
    expect(reserved.error).toMatchObject({
      code: 'NO_MEMORY',
      message: expect.stringContaining('nothing left to stop'),
    });
  });

  it("never stops the spawning recipe's own zygote: evicts the idle pod instead", async () => {
    const { memory, pod, zygote, evicted } = budget(60, 1000, 40);
    const own = zygote('warm', 10);
    pod('echo', 15);
    await expect(memory.reserve('warm', () => 'spawned')).resolves.toBe('spawned');
    expect(evicted).toEqual(['echo']);
    expect(own.stop).not.toHaveBeenCalled();
  });

  it("stops another recipe's zygote only after the idle pods, and only if still needed", async () => {
    const { memory, pod, zygote, evicted } = budget(100, 1000, 40);
    const other = zygote('other', 30);
    pod('idle', 20, 'ready', 10);
    pod('busy', 30, 'busy');
    await expect(memory.reserve('new', () => 'spawned')).resolves.toBe('spawned');
    expect(evicted).toEqual(['idle']);
    expect(other.stop).not.toHaveBeenCalled();
    pod('busy-2', 10, 'busy');
    pod('idle-2', 5, 'ready', 20);
    await expect(memory.reserve('new', () => 'spawned')).resolves.toBe('spawned');
    expect(evicted).toEqual(['idle', 'idle-2', 'zygote:other']);
  });

  it("stops nothing when only the recipe's own zygote would make room, and waits", async () => {
    const { memory, pod, zygote, evicted } = budget(60, 300, 40);
    const own = zygote('warm', 30);
    pod('idle', 5);
    const reserved = outcome(memory.reserve('warm', () => 'spawned'));
    await vi.advanceTimersByTimeAsync(300);
    expect(reserved.error).toMatchObject({ code: 'NO_MEMORY' });
    expect(evicted).toEqual([]);
    expect(own.stop).not.toHaveBeenCalled();
  });

  it('lets two spawns take turns, so they never count the same free room', async () => {
    const { memory, pod } = budget(100, 1000, 60);
    const first = outcome(memory.reserve('a', () => pod('a-1', 0, 'starting')));
    const second = outcome(memory.reserve('b', () => pod('b-1', 0, 'starting')));
    await vi.advanceTimersByTimeAsync(0);
    expect(first.done).toBe(true);
    expect(second.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(second.error).toMatchObject({ code: 'NO_MEMORY' });
  });
});

describe('MemoryBudget.reserveIfFits (replicas)', () => {
  it('spawns when the estimate fits now, and otherwise neither evicts an idle pod nor waits', async () => {
    const { memory, pod, evicted } = budget(100, 30_000, 40);
    pod('idle', 50);
    let spawned = 0;
    const first = outcome(memory.reserveIfFits('r', () => ++spawned));
    await vi.advanceTimersByTimeAsync(0);
    expect(first).toEqual({ value: 1, done: true }); // 50 + 40 <= 100
    pod('replica', 40);
    const second = outcome(memory.reserveIfFits('r', () => ++spawned));
    await vi.advanceTimersByTimeAsync(0); // answered at once: no wait for room
    expect(second).toEqual({ value: undefined, done: true });
    expect(spawned).toBe(1);
    expect(evicted).toEqual([]); // reserve() would have evicted the idle pod for it
  });
});
