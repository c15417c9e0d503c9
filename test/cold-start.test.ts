/** The progress a call is given while its env builds and its pod starts (pure logic). */
import { describe, expect, it } from 'vitest';
import { coldStartReporter } from '../src/control/cold-start.js';
import type { DaemonProgress } from '../src/control/context.js';
import type { ManagerEvent } from '../src/manager/events.js';

function report(events: ManagerEvent[]): DaemonProgress[] {
  const seen: DaemonProgress[] = [];
  const reporter = coldStartReporter('emb', (event) => seen.push(event));
  for (const event of events) reporter(event);
  return seen;
}

describe('cold start progress', () => {
  it('never runs the env bar backwards when a phase comes round again', () => {
    const env = (phase: 'checking' | 'resolving' | 'installing'): ManagerEvent => ({
      event: 'env.progress',
      recipe: 'emb',
      hash: null,
      phase,
      message: phase,
    });
    const seen = report([env('checking'), env('resolving'), env('installing')]);
    expect(seen.map((event) => event.progress)).toEqual([0.95, 0.95, 0.95]);
    expect(seen.every((event) => event.stage === 'env')).toBe(true);
  });

  it("follows only the pod it waits for, until that pod is ready, and ignores other recipes' envs", () => {
    const log = (podId: string, message: string): ManagerEvent => ({
      event: 'pod.log',
      podId,
      recipe: podId.replace(/-\d+$/, ''),
      time: 0,
      source: 'pod',
      level: 'info',
      message,
    });
    const seen = report([
      { event: 'env.progress', recipe: 'other', hash: null, phase: 'checking', message: 'x' },
      { event: 'pod.spawned', podId: 'emb-1', recipe: 'emb', pid: 1 },
      log('other-2', 'not ours'),
      log('emb-1', 'loading weights'),
      { event: 'pod.ready', podId: 'emb-1', recipe: 'emb', spawnToReadyMs: 1200, memoryMB: 90, pid: 2 },
      log('emb-1', 'after ready: the handler speaks for itself'),
    ]);
    expect(seen.map((event) => event.message)).toEqual([
      'starting emb: loading…',
      'starting emb: loading weights',
      'starting emb: ready in 1200 ms',
    ]);
  });
});
