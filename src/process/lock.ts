/**
 * One build per env hash at a time, across every process sharing a home: a proper-lockfile lock
 * (an atomic `mkdir`, kept fresh while held; a holder that died leaves a lock that goes stale after
 * `staleMs` and is taken over). A waiter polls, and stops waiting as soon as the env it wants turned
 * up (the holder built it).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { PodkeeperError } from '../errors.js';
import { wait } from './group.js';

export interface HeldLock {
  release(): Promise<void>;
  /** Set when the lock was lost while held (its directory removed or not refreshed in time). */
  readonly compromised: Error | undefined;
}

export interface LockWait {
  /** @default 10 000 (proper-lockfile's minimum is 2 000) */
  staleMs?: number;
  /** Give up waiting for another holder after this long. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called once, when the lock turns out to be held by someone else. */
  onWaiting?: () => void;
  /** Polled while waiting: true when what the lock guards is already done. */
  done: () => Promise<boolean>;
}

const POLL_MS = 150;

/** The lock if it is free (or stale) right now, else undefined. */
export async function tryLock(path: string, staleMs = 10_000): Promise<HeldLock | undefined> {
  await mkdir(dirname(path), { recursive: true });
  let compromised: Error | undefined;
  try {
    const release = await lockfile.lock(path, {
      realpath: false,
      lockfilePath: path,
      stale: staleMs,
      onCompromised: (error) => {
        compromised = error;
      },
    });
    return {
      release: () => release().catch(() => undefined),
      get compromised() {
        return compromised;
      },
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw error;
  }
}

/** The lock, or `undefined` when `done()` turned true while waiting for it. */
export async function acquireLock(path: string, options: LockWait): Promise<HeldLock | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  let waited = false;
  for (;;) {
    if (options.signal?.aborted) {
      throw new PodkeeperError('SHUTTING_DOWN', 'podkeeper is shutting down; the env build was abandoned.');
    }
    const held = await tryLock(path, options.staleMs);
    if (held) return held;
    if (!waited) {
      waited = true;
      options.onWaiting?.();
    }
    if (await options.done()) return undefined;
    if (Date.now() > deadline) {
      throw new PodkeeperError(
        'ENV_BUILD_FAILED',
        `Gave up after ${Math.round(options.timeoutMs / 1000)} s waiting for another podkeeper process ` +
          `to finish building the env locked by ${path}. If no other process is building it, remove that directory.`,
        { details: { lock: path } },
      );
    }
    await wait(POLL_MS);
  }
}
