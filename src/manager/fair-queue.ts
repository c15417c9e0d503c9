/**
 * The calls of a replicated recipe that wait for a replica with a free slot, first come first
 * served across all its replicas (docs/architecture.md#warm-pools-and-replicas). A call sent to a
 * busy replica would wait behind that replica's calls, however long, while another may be free: so
 * a call that finds every replica full waits here, and the supervisor hands the oldest one to the
 * first replica that frees a slot.
 *
 * A waiting call keeps the caller's cancel and waits at most the recipe's timeout (once sent, the
 * timeout counts time without progress, as for any call). The queue holds at most `maxQueue` calls
 * for each replica the recipe may run (`QUEUE_FULL`): what the replicas' own queues held before.
 */
import type { Cancellation } from '../cancellation.js';
import { PodkeeperError } from '../errors.js';
import { chooseReplica, type ReplicaView } from './replica-choice.js';

/** What a waiting call needs: its cancel, its timeout, and how to send it once a replica is free. */
export interface WaitingCall<P> {
  /** Sends the call to `pod` (where its timeout starts again: it counts time without progress). */
  send(pod: P): Promise<unknown>;
  /** How long it may wait here (the recipe's timeout; undefined: no limit). */
  timeoutMs: number | undefined;
  signal?: AbortSignal;
  cancellation?: Cancellation;
}

interface Entry<P> {
  call: WaitingCall<P>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Removes the cancel listener and the timer. */
  dispose(): void;
}

export class FairQueue<P extends ReplicaView> {
  readonly #recipe: string;
  readonly #bound: number;
  #entries: Entry<P>[] = [];

  constructor(recipe: string, bound: number) {
    this.#recipe = recipe;
    this.#bound = bound;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Queues `call`; its answer once it is sent and answered, or its failure while it waits. */
  add(call: WaitingCall<P>): Promise<unknown> {
    if (this.#entries.length >= this.#bound) return Promise.reject(this.#full());
    return new Promise((resolve, reject) => {
      const entry: Entry<P> = { call, resolve, reject, dispose: noop };
      const leave = (error: PodkeeperError) => {
        const at = this.#entries.indexOf(entry);
        if (at < 0) return; // sent already: the pod's request table has the cancel and the timer now
        this.#entries.splice(at, 1);
        entry.dispose();
        reject(error);
      };
      const disposers: (() => void)[] = [];
      const { signal, cancellation, timeoutMs } = call;
      if (signal?.aborted || cancellation?.aborted)
        return reject(this.#cancelled(signal?.reason ?? cancellation?.reason));
      if (signal) {
        const onAbort = () => leave(this.#cancelled(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        disposers.push(() => signal.removeEventListener('abort', onAbort));
      } else if (cancellation) {
        disposers.push(cancellation.onCancel((reason) => leave(this.#cancelled(reason))));
      }
      if (timeoutMs !== undefined) {
        const timer = setTimeout(() => leave(this.#timedOut(timeoutMs)), timeoutMs);
        disposers.push(() => clearTimeout(timer));
      }
      entry.dispose = () => {
        for (const dispose of disposers) dispose();
      };
      this.#entries.push(entry);
    });
  }

  /** Sends the oldest waiting call to `pod`. False when none waits. */
  sendNext(pod: P): boolean {
    const entry = this.#entries.shift();
    if (entry === undefined) return false;
    entry.dispose();
    let answer: Promise<unknown>;
    try {
      answer = entry.call.send(pod);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(entry.resolve, entry.reject);
    return true;
  }

  /**
   * Hands waiting calls, oldest first, to the replicas of `up` (ready or busy) that have a free slot
   * (fewest outstanding requests first, `turn()` breaking ties as in replica-choice.ts).
   */
  sendToFree(up: readonly P[], concurrency: number, turn: () => number): void {
    while (this.#entries.length > 0) {
      const choice = chooseReplica(up, concurrency, turn());
      if (choice.pod === undefined || choice.saturated) return;
      this.sendNext(choice.pod);
    }
  }

  /** Sends every waiting call now, in turn to each of `pods` (to their own queues: a drain); none: they fail. */
  spread(pods: readonly P[]): void {
    for (let turn = 0; pods.length > 0 && this.sendNext(pods[turn % pods.length] as P); turn++);
    this.stop('drained');
  }

  /** Fails every waiting call: the recipe was stopped (`why`), the calls are not served. */
  stop(why: string): void {
    if (this.#entries.length === 0) return;
    this.failAll(
      new PodkeeperError(
        'SHUTTING_DOWN',
        `Recipe "${this.#recipe}" was ${why} while the call waited for a free replica; call it again.`,
        { details: { recipe: this.#recipe } },
      ),
    );
  }

  /** Fails every waiting call with `error` (the recipe is fatal, or its supervisor is stopping). */
  failAll(error: unknown): void {
    const entries = this.#entries;
    this.#entries = [];
    for (const entry of entries) {
      entry.dispose();
      entry.reject(error);
    }
  }

  #full(): PodkeeperError {
    return new PodkeeperError(
      'QUEUE_FULL',
      `Recipe "${this.#recipe}" already has ${this.#bound} calls waiting for a free replica. Retry later, ` +
        "or raise maxQueue, or the recipe's replicas.max or concurrency.",
      { details: { recipe: this.#recipe, bound: this.#bound } },
    );
  }

  #cancelled(reason: unknown): PodkeeperError {
    return new PodkeeperError(
      'CANCELLED',
      `Call to "${this.#recipe}" was cancelled by its caller while it waited for a free replica.`,
      { cause: reason, details: { recipe: this.#recipe } },
    );
  }

  #timedOut(ms: number): PodkeeperError {
    return new PodkeeperError(
      'TIMEOUT',
      `Call to "${this.#recipe}" waited ${ms / 1000} s for a free replica (the recipe's timeout): every ` +
        'replica stayed busy. Raise replicas.max, or the timeout.',
      { details: { recipe: this.#recipe, timeoutMs: ms } },
    );
  }
}

function noop(): void {}
