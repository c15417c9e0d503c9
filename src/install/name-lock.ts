/**
 * One install or remove of a recipe name at a time: callers in this process queue on a promise
 * chain; across processes sharing a home, a proper-lockfile lock (a holder that died leaves a lock
 * that goes stale and is taken over). Different names never wait for each other.
 */

import { PodkeeperError } from '../errors.js';
import { wait } from '../process/group.js';
import { tryLock } from '../process/lock.js';

export class NameLocks {
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #path: (name: string) => string;

  constructor(path: (name: string) => string) {
    this.#path = path;
  }

  /** True while some caller in this process holds or waits for `name`. */
  busy(name: string): boolean {
    return this.#tails.has(name);
  }

  /** Runs `work` holding `name`; `onWaiting` is called once if someone else holds it first. */
  run<T>(
    name: string,
    work: () => Promise<T>,
    options: { signal?: AbortSignal; timeoutMs: number; onWaiting?: () => void },
  ): Promise<T> {
    const previous = this.#tails.get(name);
    if (previous) options.onWaiting?.();
    const run = (previous ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.#held(name, work, options));
    const tail = run.catch(() => undefined);
    this.#tails.set(name, tail);
    void tail.then(() => {
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    });
    return run;
  }

  async #held<T>(
    name: string,
    work: () => Promise<T>,
    options: { signal?: AbortSignal; timeoutMs: number; onWaiting?: () => void },
  ): Promise<T> {
    const deadline = Date.now() + options.timeoutMs;
    let told = false;
    for (;;) {
      options.signal?.throwIfAborted();
      const lock = await tryLock(this.#path(name));
      if (lock) {
        try {
          return await work();
        } finally {
          await lock.release();
        }
      }
      if (!told) {
        told = true;
        options.onWaiting?.();
      }
      if (Date.now() > deadline) {
        throw new PodkeeperError(
          'INSTALL_FAILED',
          `Gave up waiting for another podkeeper process to finish installing or removing "${name}" ` +
            `(lock ${this.#path(name)}). If no other process is at it, remove that directory.`,
          { details: { name, lock: this.#path(name) } },
        );
      }
      await wait(200);
    }
  }
}
