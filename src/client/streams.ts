/**
 * What the client hands back for requests that stream: a call (awaitable for its result, iterable
 * for its progress and chunks) and a subscription (iterable until closed).
 */
import type { PodkeeperError } from '../errors.js';
import type { ControlEvent } from '../protocol/control-replies.js';

/** A call's own event, as the pod sent it (the request id removed). */
export type CallEvent =
  | { type: 'progress'; progress: number; message?: string; stage?: 'env' | 'starting' }
  | { type: 'chunk'; data: unknown };

/** The CallEvent of a progress or chunk line from the daemon; undefined for any other line. */
export function toCallEvent(line: Record<string, unknown>): CallEvent | undefined {
  if (line['type'] === 'chunk') return { type: 'chunk', data: line['data'] };
  if (line['type'] === 'progress') {
    const event: CallEvent = { type: 'progress', progress: line['progress'] as number };
    if (typeof line['message'] === 'string') event.message = line['message'];
    if (line['stage'] === 'env' || line['stage'] === 'starting') event.stage = line['stage'];
    return event;
  }
  return undefined;
}

/** An unbounded FIFO that one async iterator drains; ends with a value or an error. */
class EventQueue<T> {
  #items: T[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #error: Error | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#notify();
  }

  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#notify();
  }

  async *drain(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      while (this.#head < this.#items.length) {
        const item = this.#items[this.#head] as T;
        this.#items[this.#head] = undefined as T;
        this.#head += 1;
        if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#head = 0;
        }
        yield item;
      }
      if (this.#ended) {
        if (this.#error) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * A call in flight. `await call` gives the pod's result; `for await (const event of call)` gives its
 * progress and chunks as they arrive, then ends (or throws the call's error). Events are kept until
 * iterated, so iterating after the result has arrived still sees them all.
 */
export class CallHandle<T = unknown> implements PromiseLike<T>, AsyncIterable<CallEvent> {
  readonly id: string;
  readonly #result: Promise<T>;
  readonly #events = new EventQueue<CallEvent>();
  readonly #cancel: () => void;

  /** @internal */
  constructor(id: string, result: Promise<T>, cancel: () => void) {
    this.id = id;
    this.#cancel = cancel;
    this.#result = result;
    result.then(
      () => this.#events.end(),
      (error: PodkeeperError) => this.#events.end(error),
    );
  }

  /** @internal */
  push(event: CallEvent): void {
    this.#events.push(event);
  }

  // biome-ignore lint/suspicious/noThenProperty: a call is awaitable by design
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#result.then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.#result.catch(onRejected);
  }

  /** Asks the daemon to cancel the call; it then rejects with `CANCELLED`. */
  cancel(): void {
    this.#cancel();
  }

  [Symbol.asyncIterator](): AsyncIterator<CallEvent> {
    return this.#events.drain();
  }
}

/**
 * A stream of daemon events (`events.subscribe`, `logs.follow`). Iterate it; `close()` (or leaving
 * the loop) cancels it on the daemon. It ends when closed, or throws when the daemon ends it.
 */
export class Subscription<E extends ControlEvent = ControlEvent> implements AsyncIterable<E> {
  readonly id: string;
  readonly #events = new EventQueue<E>();
  readonly #cancel: () => void;
  #closed = false;

  /** @internal */
  constructor(id: string, cancel: () => void) {
    this.id = id;
    this.#cancel = cancel;
  }

  /** @internal */
  push(event: E): void {
    this.#events.push(event);
  }

  /** @internal */
  end(error?: Error): void {
    this.#closed = true;
    this.#events.end(error);
  }

  /** Cancels the stream on the daemon; iteration ends once the events already received are read. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancel();
    this.#events.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<E> {
    try {
      yield* this.#events.drain();
    } finally {
      this.close();
    }
  }
}
