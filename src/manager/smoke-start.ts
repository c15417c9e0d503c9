/**
 * An install's smoke start: the new recipe's first pod must reach `ready` before the install is
 * activated. The pod is stopped afterwards either way; an aborted install answers `CANCELLED`.
 */
import { PodkeeperError } from '../errors.js';
import type { Pod } from '../pod/pod.js';

export interface SmokeStartResult {
  spawnToReadyMs: number;
  memoryMB: number;
}

/** Waits until `pod` is ready (or fails, or `signal` aborts), then stops it. */
export async function awaitReadyThenStop(
  pod: Pod,
  recipe: string,
  signal?: AbortSignal,
): Promise<SmokeStartResult> {
  const cancelled = () => new PodkeeperError('CANCELLED', `The smoke start of "${recipe}" was cancelled.`);
  const onAbort = () => void pod.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const ready = await pod.whenReady().catch((error: unknown) => {
      throw signal?.aborted ? cancelled() : error;
    });
    if (signal?.aborted) throw cancelled();
    return { spawnToReadyMs: Math.round(pod.spawnToReadyMs ?? 0), memoryMB: ready.memoryMB };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await pod.stop();
  }
}
