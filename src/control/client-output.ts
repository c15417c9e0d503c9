/**
 * What one control client is sent, under flow control. Each line is serialized once. While the
 * client's socket is full, the events of its streams are only counted (no line is built) and, once it
 * drains, each stream gets one `lagged` event with the count; what cannot be skipped (answers, a
 * call's progress and chunks) waits in the channel's queue, and while it does no more requests are
 * read. A client whose unwritten output passes `maxBufferBytes`, or the shared budget, is dropped.
 */
import type { Writable } from 'node:stream';
import { PodkeeperError } from '../errors.js';
import type { ManagerEvent } from '../manager/events.js';
import type { RequestId } from '../protocol/control.js';
import type { ControlEventBody } from '../protocol/control-replies.js';
import { type EncodedMessage, encodeMessage } from '../transport/frames.js';
import type { JsonLinesChannel } from '../transport/json-lines.js';
import type { OutboundBudget } from './outbound-budget.js';

/** What a {@link ClientOutput} needs from its connection. */
export interface ClientOutputHooks {
  /** True once the client is gone: nothing more is sent. */
  isClosed(): boolean;
  /** The request `id` announced `$frames`: bytes in its answer and events go as frames. */
  readsFrames(id: RequestId): boolean;
  /** The output is blocked: read no more requests until it drains. */
  pauseInput(): void;
  /** `message` cannot be written as JSON; `error` is a `BAD_REQUEST` with the reason as its cause. */
  unsendable(message: object, error: PodkeeperError): void;
  /** The client's unwritten output passed its own bound. */
  tooSlow(bound: { bytes: number; scope: 'client' }): void;
}

export class ClientOutput {
  readonly #channel: JsonLinesChannel;
  readonly #output: Writable;
  readonly #maxBufferBytes: number;
  readonly #budget: OutboundBudget | undefined;
  readonly #hooks: ClientOutputHooks;
  /** Per stream, the events skipped while the client did not read (reported by a `lagged` event). */
  readonly #lagging = new Map<RequestId, number>();

  constructor(
    channel: JsonLinesChannel,
    output: Writable,
    bounds: { maxBufferBytes: number; budget?: OutboundBudget },
    hooks: ClientOutputHooks,
  ) {
    this.#channel = channel;
    this.#output = output;
    this.#maxBufferBytes = bounds.maxBufferBytes;
    this.#budget = bounds.budget;
    this.#hooks = hooks;
  }

  /** Output queued for the client and not yet taken by its socket, bytes. */
  get bufferedBytes(): number {
    return this.#hooks.isClosed() ? 0 : this.#channel.pendingLength + this.#output.writableLength;
  }

  /** True while the client's socket refuses data. */
  get blocked(): boolean {
    return this.#channel.blocked;
  }

  /**
   * Sends an event of stream `id`. While the client's output is blocked the event is only counted
   * (`stream.started` excepted: the client waits for it); the count goes out as one `lagged` event
   * once the output drains, before any later event of that stream.
   */
  emit(id: RequestId, event: ControlEventBody | ManagerEvent): void {
    if (this.#hooks.isClosed()) return;
    if (this.#channel.blocked && event.event !== 'stream.started') {
      this.#lagging.set(id, (this.#lagging.get(id) ?? 0) + 1);
      return;
    }
    if (this.#lagging.size > 0) this.reportLag();
    this.send({ type: 'event', id, ...event });
  }

  /** Request `id` ended: a stream that ends while lagging still says what it missed. */
  ended(id: RequestId): void {
    const dropped = this.#lagging.get(id);
    if (dropped === undefined) return;
    this.#lagging.delete(id);
    this.send({ type: 'event', id, event: 'lagged', dropped });
  }

  /** Once the output takes data again: one `lagged` event per stream that skipped events. */
  reportLag(): void {
    if (this.#hooks.isClosed()) return;
    for (const [id, dropped] of this.#lagging) {
      if (this.#channel.blocked) return;
      this.#lagging.delete(id);
      this.send({ type: 'event', id, event: 'lagged', dropped });
    }
  }

  /**
   * Sends one line, serialized once. While the output is blocked the channel queues it; a client
   * whose unwritten output passes the bound is dropped instead of buffered without end.
   */
  send(message: object, frames = this.#readsFrames(message)): void {
    if (this.#hooks.isClosed()) return;
    let encoded: EncodedMessage;
    try {
      encoded = encodeMessage(message, frames);
    } catch (cause) {
      this.#hooks.unsendable(
        message,
        new PodkeeperError('BAD_REQUEST', 'Message is not serializable', { cause }),
      );
      return;
    }
    if (this.#channel.sendFramed(encoded.line, encoded.frames)) return;
    // Blocked: read no more requests from this client until it takes its output (backpressure), so
    // the answers it can pile up are those of the requests already read. An answer is always kept,
    // whatever its size (a client that reads is never dropped for a large one); what the bounds
    // stop is the events of a call (chunks, progress) piling up behind a client that does not read.
    this.#hooks.pauseInput();
    if ('success' in message) return;
    if (this.bufferedBytes > this.#maxBufferBytes) {
      this.#hooks.tooSlow({ bytes: this.#maxBufferBytes, scope: 'client' });
      return;
    }
    this.#budget?.check();
  }

  #readsFrames(message: object): boolean {
    const { id } = message as { id?: unknown };
    return (typeof id === 'string' || typeof id === 'number') && this.#hooks.readsFrames(id);
  }
}
