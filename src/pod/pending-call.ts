/**
 * One request's life inside a pod: waiting, sent, answered. The caller's promise and the pod's slot
 * are separate: a caller that times out is answered at once, while the slot stays taken until the
 * pod answers (or dies), so the pod is never sent more than it can hold.
 */
import type { PodkeeperError } from '../errors.js';
import type { RequestEvent } from '../protocol/pod.js';

export class PendingCall {
  readonly id: string;
  readonly action: string;
  /** Dropped once written to the pod, so a big input is not held while its answer comes. */
  payload: unknown;
  readonly onEvent: ((event: RequestEvent) => void) | undefined;
  /** Its caller takes a big result as a RawJson (see RequestOptions.raw). */
  raw = false;
  readonly promise: Promise<unknown>;
  sent = false;
  settled = false;
  timer: NodeJS.Timeout | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  /** Run once the pod is done with the request (e.g. to drop an abort listener). */
  cleanup: (() => void) | undefined;

  readonly #resolve: (value: unknown) => void;
  readonly #reject: (error: PodkeeperError) => void;

  constructor(id: string, action: string, payload: unknown, onEvent?: (event: RequestEvent) => void) {
    this.id = id;
    this.action = action;
    this.payload = payload;
    this.onEvent = onEvent;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.promise = promise;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  succeed(result: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.#resolve(result);
  }

  fail(error: PodkeeperError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.#reject(error);
  }

  /** The pod is done with it: clears every timer and runs the cleanup. */
  release(): void {
    clearTimeout(this.timer);
    clearTimeout(this.graceTimer);
    this.cleanup?.();
    this.cleanup = undefined;
  }

  /** A sign of life (progress, chunk): restarts the inactivity timeout. */
  touch(): void {
    this.timer?.refresh();
  }
}
