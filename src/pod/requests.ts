/**
 * The requests of one pod: waiting in a FIFO bounded by `maxQueue`, sent up to `slots` at a time
 * (the recipe's concurrency plus pipelining), correlated with their answers by id, and given up on
 * when their caller times out or aborts: the caller is answered at once, the pod gets `cancel`, and
 * if it has not answered within the grace `onCancelIgnored` asks the pod to be killed.
 *
 * The FIFO is an insertion-ordered Set (O(1) removal of a waiter whose caller left) and a counter,
 * not p-queue: measured on the pipelined benchmark, p-queue's per-task events and async-context
 * binding cost ~3.5 µs of the daemon's ~16 µs of CPU per call, and without them podkeeper keeps up
 * with the raw pipe floor (0.8× instead of 0.65×).
 */
import type { Cancellation } from '../cancellation.js';
import { isPodkeeperError, type PodkeeperError } from '../errors.js';
import type { RequestEvent, ResultMessage } from '../protocol/pod.js';
import { materialize } from '../transport/frames.js';
import { RawJson } from '../transport/raw-json.js';
import * as failures from './failures.js';
import { PendingCall } from './pending-call.js';

export interface RequestOptions {
  /** Inactivity limit for this request (reset by its progress and chunks). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Like `signal`, cheaper (the daemon's own calls: see cancellation.ts); either may be given. */
  cancellation?: Cancellation;
  onEvent?: (event: RequestEvent) => void;
  /**
   * A big result (64 KiB or more of JSON) comes as a RawJson, its bytes, instead of a value: for a
   * relay that writes it on as it came (the daemon's `call`). @default false
   */
  raw?: boolean;
}

export interface RequestTableOptions {
  podId: string;
  /** Requests the pod may hold at once. */
  slots: number;
  maxQueue: number;
  cancelGraceMs: number;
  /** The pod channel's line limit (named in the error of an answer that cannot be read). */
  maxLineLength: number;
  /** Writes one request line to the pod; rejects when it cannot (the input is not JSON, the pipe is gone). */
  send(message: { id: string; action: string; payload: unknown }): Promise<void>;
  /** A request was sent. */
  onSent(): void;
  /** A request was answered or given up on. */
  onSettled(): void;
  /** A cancelled request was not answered within the grace. */
  onCancelIgnored(requestId: string): void;
}

export class RequestTable {
  readonly #options: RequestTableOptions;
  readonly #inFlight = new Map<string, PendingCall>();
  readonly #waiting = new Set<PendingCall>();
  readonly #controlIds = new Set<string>();
  #nextId = 0;
  #open = false;

  constructor(options: RequestTableOptions) {
    this.#options = options;
  }

  /** Requests sent to the pod and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Requests waiting for a slot (or for the pod to become ready). */
  get queued(): number {
    return this.#waiting.size;
  }

  /** Starts sending: called once the pod is ready. */
  open(): void {
    this.#open = true;
    this.#pump();
  }

  add(action: string, payload: unknown, options: RequestOptions): Promise<unknown> {
    const { podId, maxQueue } = this.#options;
    if (this.#waiting.size >= maxQueue) return Promise.reject(failures.queueFull(podId, maxQueue));
    const call = new PendingCall(this.#newId(), action, payload, options.onEvent);
    call.raw = options.raw === true;
    const { timeoutMs, signal, cancellation } = options;
    if (timeoutMs !== undefined) {
      call.timer = setTimeout(
        () => this.#abandon(call, failures.requestTimeout(podId, call.id, timeoutMs)),
        timeoutMs,
      );
    }
    if (signal) {
      const onAbort = () => this.#abandon(call, failures.requestCancelled(podId, call.id, signal.reason));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        call.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
    } else if (cancellation) {
      call.cleanup = cancellation.onCancel((reason) =>
        this.#abandon(call, failures.requestCancelled(podId, call.id, reason)),
      );
    }
    if (call.settled) return call.promise;
    if (this.#open && this.#waiting.size === 0 && this.#inFlight.size < this.#options.slots) this.#send(call);
    else this.#waiting.add(call);
    return call.promise;
  }

  /** A request the runner answers itself (`cancel`, `shutdown`); its answer is dropped quietly. */
  sendControl(action: 'cancel' | 'shutdown', payload: unknown): void {
    const id = `c${this.#newId()}`;
    this.#controlIds.add(id);
    this.#options.send({ id, action, payload }).catch(() => this.#controlIds.delete(id));
  }

  /** Settles the request a result line answers; false when the id is nobody's. */
  answer(message: ResultMessage): boolean {
    const call = this.#inFlight.get(message.id);
    if (!call) return this.#controlIds.delete(message.id);
    this.#inFlight.delete(message.id);
    this.#settle(call, () => {
      if (!message.success) call.fail(failures.podAnsweredError(this.#options.podId, message.error));
      else if (call.raw || !(message.result instanceof RawJson)) call.succeed(message.result);
      else this.#succeedParsed(call, message.result);
    });
    return true;
  }

  /** A big result parsed for a caller that wants the value: what cannot be read fails the call. */
  #succeedParsed(call: PendingCall, result: RawJson): void {
    let value: unknown;
    try {
      value = materialize(result);
    } catch (error) {
      const { podId, maxLineLength } = this.#options;
      const detail = (error as Error).message;
      const given = (error as PodkeeperError).details?.['reason'];
      const reason = typeof given === 'string' ? given : 'json'; // utf8, json, unrepresentable, frames
      call.fail(
        failures.unreadableAnswer(podId, call.id, { reason, length: result.length, detail }, maxLineLength),
      );
      return;
    }
    call.succeed(value);
  }

  #settle(call: PendingCall, answer: () => void): void {
    answer();
    call.release();
    this.#pump();
    this.#options.onSettled();
  }

  /**
   * A line for request `id` could not be read (see JsonLinesChannel's InvalidLine). Its caller is
   * answered with `error` now. A final answer (`final`) frees the slot; a lost progress or chunk
   * means the request is still running, so it is cancelled like one whose caller gave up.
   * False when the id is nobody's.
   */
  unreadable(id: string, final: boolean, error: PodkeeperError): boolean {
    const call = this.#inFlight.get(id);
    if (!call) return this.#controlIds.delete(id);
    if (!final) {
      if (!call.settled) this.#abandon(call, error); // once: later lines of a cancelled request change nothing
      return true;
    }
    this.#inFlight.delete(id);
    this.#settle(call, () => call.fail(error));
    return true;
  }

  /**
   * The runner could not read a request line and found no id in it: the oldest request sent and not
   * yet answered (the runner reads lines in the order they were sent) fails with `error(id)` now and
   * frees its slot. A request whose caller already left is skipped: its cancel may still be answered.
   * Returns the failed request's id, or undefined when none was waiting.
   */
  unreadableRequest(error: (requestId: string) => PodkeeperError): string | undefined {
    for (const call of this.#inFlight.values()) {
      if (call.settled) continue;
      this.#inFlight.delete(call.id);
      this.#settle(call, () => call.fail(error(call.id)));
      return call.id;
    }
    return undefined;
  }

  /** Forwards a progress or chunk line to its caller; it also restarts the request's timeout. */
  event(message: RequestEvent): void {
    const call = this.#inFlight.get(message.id);
    if (!call) return;
    call.touch();
    if (!call.settled) call.onEvent?.(message);
  }

  /** Fails every request that was not sent yet. */
  failWaiting(error: PodkeeperError): void {
    for (const call of this.#waiting) {
      call.fail(error);
      call.release();
    }
    this.#waiting.clear();
  }

  /** Fails every request, sent or not: the pod is gone. */
  failAll(error: PodkeeperError): void {
    this.failWaiting(error);
    for (const call of this.#inFlight.values()) {
      call.fail(error);
      call.release();
    }
    this.#inFlight.clear();
  }

  #newId(): string {
    this.#nextId += 1;
    return this.#nextId.toString(36);
  }

  /** Sends waiting requests, oldest first, while the pod has room. */
  #pump(): void {
    const slots = this.#options.slots;
    while (this.#open && this.#inFlight.size < slots && this.#waiting.size > 0) {
      const next = this.#waiting.values().next().value as PendingCall;
      this.#waiting.delete(next);
      this.#send(next);
    }
  }

  #send(call: PendingCall): void {
    call.sent = true;
    this.#inFlight.set(call.id, call);
    this.#options.onSent();
    const sending = this.#options.send({ id: call.id, action: call.action, payload: call.payload });
    call.payload = undefined; // the channel has it now (as bytes written or queued)
    sending.catch((error: unknown) => {
      // Only a request that could not be written at all: a gone pipe fails every call on exit.
      if (!isPodkeeperError(error, 'BAD_REQUEST') || this.#inFlight.get(call.id) !== call) return;
      this.#inFlight.delete(call.id);
      this.#settle(call, () => call.fail(failures.unsendable(this.#options.podId, call.id, error)));
    });
  }

  /** The caller gave up (timeout or abort): answer it now, then free the pod's slot. */
  #abandon(call: PendingCall, error: PodkeeperError): void {
    call.fail(error);
    if (!call.sent) {
      this.#waiting.delete(call);
      call.release();
      this.#options.onSettled();
      return;
    }
    if (!this.#inFlight.has(call.id) || call.graceTimer !== undefined) return;
    this.sendControl('cancel', { id: call.id });
    call.graceTimer = setTimeout(() => {
      if (this.#inFlight.has(call.id)) this.#options.onCancelIgnored(call.id);
    }, this.#options.cancelGraceMs);
  }
}
