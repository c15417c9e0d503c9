/**
 * A starting pod's wait for `ready`: the promise its callers await, and the ready timer. A log line
 * from the starting pod pushes the timer back (a slow import that logs is alive, not hung); when the
 * timer runs out, `onTimeout` kills the pod. The promise never rejects unhandled.
 */
import type { PodkeeperError } from '../errors.js';
import type { ReadyMessage } from '../protocol/pod.js';

export class ReadyWait {
  readonly promise: Promise<ReadyMessage>;
  readonly #resolve: (ready: ReadyMessage) => void;
  readonly #reject: (error: PodkeeperError) => void;
  readonly #timer: NodeJS.Timeout;

  constructor(timeoutMs: number, onTimeout: () => void) {
    const ready = Promise.withResolvers<ReadyMessage>();
    this.promise = ready.promise;
    this.#resolve = ready.resolve;
    this.#reject = ready.reject;
    this.promise.catch(() => undefined);
    this.#timer = setTimeout(onTimeout, timeoutMs);
  }

  /** The starting pod showed it is alive: the timer starts again. */
  refresh(): void {
    this.#timer.refresh();
  }

  /** No more timeout: the pod is ready, or has exited. */
  stopTimer(): void {
    clearTimeout(this.#timer);
  }

  resolve(ready: ReadyMessage): void {
    this.stopTimer();
    this.#resolve(ready);
  }

  reject(error: PodkeeperError): void {
    this.stopTimer();
    this.#reject(error);
  }
}
