/**
 * RequestTable's bookkeeping, without a process: what it writes to the pod and when it gives up.
 * The real-process behaviour is in pod-lifecycle and framing-pod; this pins the rules exactly.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PodkeeperError } from '../src/errors.js';
import { RequestTable } from '../src/pod/requests.js';

afterEach(() => {
  vi.useRealTimers();
});

function table() {
  const sent: { id: string; action: string; payload: unknown }[] = [];
  const ignored: string[] = [];
  const requests = new RequestTable({
    podId: 'p-1',
    slots: 1,
    maxQueue: 10,
    cancelGraceMs: 5000,
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
});
