import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
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

  it('aborts its signal before its listeners run, and skips one removed by an earlier listener', () => {
    const cancellation = new Cancellation();
    const signal = cancellation.signal;
    const seen: string[] = [];
    let removeLater = (): void => undefined;
    cancellation.onCancel(() => {
      seen.push(`first, signal aborted: ${signal.aborted}`);
      removeLater();
    });
    removeLater = cancellation.onCancel(() => seen.push('removed by the first'));
    cancellation.onCancel(() => seen.push('last'));
    cancellation.cancel('why');
    expect(seen).toEqual(['first, signal aborted: true', 'last']);
  });

  it('runs the other listeners when one throws, and throws its error on the next tick, as an AbortSignal does', () => {
    // In a process of its own: the error is uncaught there, on purpose.
    const script = `
      import { Cancellation } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'cancellation.js'))};
      const cancellation = new Cancellation();
      const signal = cancellation.signal;
      cancellation.onCancel(() => { throw new Error('a bug in a listener'); });
      cancellation.onCancel(() => console.log('second ran; signal aborted:', signal.aborted));
      cancellation.cancel('why');
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stdout).toBe('second ran; signal aborted: true\n');
    expect(run.stderr).toContain('Error: a bug in a listener');
    expect(run.status).toBe(1);
  });
});
