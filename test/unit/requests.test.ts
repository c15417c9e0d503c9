/**
 * RequestTable's bookkeeping, without a process: what it writes to the pod and when it gives up.
 * The real-process behaviour is in pod-lifecycle and framing-pod; this pins the rules exactly, with
 * fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PodkeeperError } from '../../src/errors.js';
import { RequestTable } from '../../src/pod/requests.js';

afterEach(() => {
  vi.useRealTimers();
});

function table(slots = 1, maxQueue = 10) {
  const sent: { id: string; action: string; payload: unknown }[] = [];
  const ignored: string[] = [];
  const requests = new RequestTable({
    podId: 'p-1',
    slots,
    maxQueue,
    cancelGraceMs: 5000,
    maxLineLength: 1024,
    send: async (message) => {
      sent.push(message);
    },
    onSent: () => undefined,
    onSettled: () => undefined,
    onCancelIgnored: (id) => ignored.push(id),
  });
  requests.open();
  return { requests, sent, ignored };
}

describe('RequestTable', () => {
  beforeEach(() => vi.useFakeTimers());

  it('cancels a request once, however many of its progress or chunk lines cannot be read', async () => {
    vi.useFakeTimers();
    const { requests, sent, ignored } = table();
    const answer = requests.add('process', {}, {});
    answer.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(0);
    const id = sent[0]?.id as string;
    const bad = new PodkeeperError('UNREPRESENTABLE', 'a chunk held 2^64 + 1');
    for (let i = 0; i < 50; i++) requests.unreadable(id, false, bad);
    await expect(answer).rejects.toMatchObject({ code: 'UNREPRESENTABLE' });
    expect(sent.filter((message) => message.action === 'cancel')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(ignored).toEqual([id]);
  });

  it('sends up to `slots` at once, the rest in FIFO order as answers free a slot', async () => {
    const { requests, sent } = table(2);
    const answers = [1, 2, 3, 4].map((n) => requests.add('process', n, {}));
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((m) => m.payload)).toEqual([1, 2]);
    expect([requests.inFlight, requests.queued]).toEqual([2, 2]);
    requests.answer({ id: sent[1]?.id as string, success: true, result: 'two' });
    expect(sent.map((m) => m.payload)).toEqual([1, 2, 3]);
    requests.answer({ id: sent[0]?.id as string, success: true, result: 'one' });
    expect(sent.map((m) => m.payload)).toEqual([1, 2, 3, 4]);
    await expect(answers[1]).resolves.toBe('two');
    await expect(answers[0]).resolves.toBe('one');
  });

  it('refuses with QUEUE_FULL once maxQueue requests wait', async () => {
    const { requests } = table(1, 2);
    const kept = [1, 2, 3].map((n) => requests.add('process', n, {}));
    for (const answer of kept) answer.catch(() => undefined);
    expect(requests.queued).toBe(2); // one sent, two waiting
    await expect(requests.add('process', 4, {})).rejects.toMatchObject({ code: 'QUEUE_FULL' });
  });

  it('times out exactly timeoutMs after the last sign of life, cancels, and asks for a kill after the grace', async () => {
    const { requests, sent, ignored } = table();
    const answer = requests.add('process', {}, { timeoutMs: 1000 });
    answer.catch(() => undefined);
    const id = sent[0]?.id as string;
    await vi.advanceTimersByTimeAsync(600);
    requests.event({ type: 'progress', id, progress: 0.5 }); // progress restarts the count
    await vi.advanceTimersByTimeAsync(999);
    expect(sent.map((m) => m.action)).toEqual(['process']);
    await vi.advanceTimersByTimeAsync(1);
    await expect(answer).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(sent.filter((m) => m.action === 'cancel').map((m) => m.payload)).toEqual([{ id }]);
    await vi.advanceTimersByTimeAsync(4999);
    expect(ignored).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ignored).toEqual([id]);
  });

  it('asks for no kill when the pod answers a cancel within the grace', async () => {
    const { requests, sent, ignored } = table();
    const controller = new AbortController();
    const answer = requests.add('process', {}, { signal: controller.signal });
    controller.abort();
    await expect(answer).rejects.toMatchObject({ code: 'CANCELLED' });
    const id = sent[0]?.id as string;
    await vi.advanceTimersByTimeAsync(4999);
    expect(requests.answer({ id, success: true, result: 'late' })).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ignored).toEqual([]);
    expect(requests.inFlight).toBe(0);
  });

  it('drops a waiting request whose caller leaves: never sent, no cancel', async () => {
    const { requests, sent } = table();
    requests.add('process', 'first', {}).catch(() => undefined);
    const controller = new AbortController();
    const waiting = requests.add('process', 'second', { signal: controller.signal, timeoutMs: 50 });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    await vi.advanceTimersByTimeAsync(100);
    expect(requests.queued).toBe(0);
    requests.answer({ id: sent[0]?.id as string, success: true, result: null });
    expect(sent.map((m) => [m.action, m.payload])).toEqual([['process', 'first']]);
  });
});
