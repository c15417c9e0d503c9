import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../src/cancellation.js';

describe('Cancellation', () => {
  it('calls its listeners once, in order, with the reason; a removed one is not called', () => {
    const cancellation = new Cancellation();
    const calls: string[] = [];
    cancellation.onCancel((reason) => calls.push(`first ${String(reason)}`));
    const remove = cancellation.onCancel(() => calls.push('removed'));
    cancellation.onCancel((reason) => calls.push(`last ${String(reason)}`));
    remove();
    expect(cancellation.aborted).toBe(false);
    cancellation.cancel('why');
    cancellation.cancel('again');
    expect(calls).toEqual(['first why', 'last why']);
    expect(cancellation.aborted).toBe(true);
    expect(cancellation.reason).toBe('why');
  });

  it('calls a listener added after the cancel at once', () => {
    const cancellation = new Cancellation();
    cancellation.cancel('late');
    const seen: unknown[] = [];
    cancellation.onCancel((reason) => seen.push(reason));
    expect(seen).toEqual(['late']);
  });

  it('gives an AbortSignal that aborts with it, or is made aborted', () => {
    const before = new Cancellation();
    const signal = before.signal;
    expect(before.signal).toBe(signal);
    const seen: unknown[] = [];
    signal.addEventListener('abort', () => seen.push(signal.reason));
    const reason = new Error('cancelled');
    before.cancel(reason);
    expect(seen).toEqual([reason]);

    const after = new Cancellation();
    after.cancel(reason);
    expect(after.signal.aborted).toBe(true);
    expect(after.signal.reason).toBe(reason);
  });

  it('runs the other listeners and the signal when one listener throws, and warns', async () => {
    const cancellation = new Cancellation();
    const signal = cancellation.signal;
    const seen: string[] = [];
    cancellation.onCancel(() => {
      throw new Error('a bug in a listener');
    });
    cancellation.onCancel(() => seen.push('second'));
    const warned = once(process, 'warning');
    cancellation.cancel('why');
    expect(seen).toEqual(['second']);
    expect(signal.aborted).toBe(true);
    const [warning] = (await warned) as [Error];
    expect(warning.message).toBe('a bug in a listener');
  });
});
