/**
 * Typed events whose subscription returns a disposer, so a subscriber can never forget how to leave.
 * A listener that throws is isolated: its error becomes a process warning and never reaches the
 * emitter's own control flow (a daemon must not die of a subscriber's bug).
 */
export type Listener<T> = (value: T) => void;
export type Disposer = () => void;

/** Listeners of one event; the array is replaced on change, so emitting is a plain loop, no copy. */
export class Listeners<T> {
  #list: Listener<T>[] = [];

  add(listener: Listener<T>): Disposer {
    this.#list = [...this.#list, listener];
    return () => {
      this.#list = this.#list.filter((other) => other !== listener);
    };
  }

  clear(): void {
    this.#list = [];
  }

  /** How many listeners are added. */
  get size(): number {
    return this.#list.length;
  }

  emit(value: T): void {
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]?.(value);
      } catch (error) {
        process.emitWarning(error instanceof Error ? error : new Error(String(error)), 'ListenerError');
      }
    }
  }
}

/** A set of named events, each with its own {@link Listeners}. */
export class Emitter<Events extends Record<string, unknown>> {
  readonly #events = new Map<keyof Events, Listeners<unknown>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Disposer {
    let listeners = this.#events.get(event) as Listeners<Events[K]> | undefined;
    if (!listeners) {
      listeners = new Listeners<Events[K]>();
      this.#events.set(event, listeners as Listeners<unknown>);
    }
    return listeners.add(listener);
  }

  /** True while `event` has a listener. */
  has(event: keyof Events): boolean {
    return (this.#events.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    (this.#events.get(event) as Listeners<Events[K]> | undefined)?.emit(value);
  }
}
