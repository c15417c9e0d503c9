/**
 * A request's cancellation, for the daemon's hot path: what an AbortController gives a call, without
 * making one. An AbortController with one `abort` listener added and removed costs ~1.5 µs per call
 * (Node 24, this machine's CPU), a tenth of what the daemon spends on a warm call beyond a relay:
 * here making one is a plain object, and its (usually single) listener a field. A real AbortSignal
 * is made only when someone asks for {@link Cancellation.signal} (a cold call waiting for its pod,
 * an install, a stream); it aborts with the same reason, just before the listeners run.
 */
export class Cancellation {
  #reason: unknown;
  #aborted = false;
  /** The first listener (usually the only one: the pod's request table), then any others. */
  #listener: Listener | undefined;
  #more: Listener[] | undefined;
  #controller: AbortController | undefined;

  /** True once {@link cancel} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** What {@link cancel} was called with. */
  get reason(): unknown {
    return this.#reason;
  }

  /** An AbortSignal aborted with this cancellation (already aborted if it is), made on first use. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * Calls `listener` once, with the reason, when this is cancelled (at once if it already is).
   * Returns a disposer that removes it.
   */
  onCancel(listener: Listener): () => void {
    if (this.#aborted) {
      listener(this.#reason);
      return noop;
    }
    if (this.#listener === undefined && this.#more === undefined) this.#listener = listener;
    else {
      this.#more ??= [];
      this.#more.push(listener);
    }
    return () => this.#remove(listener);
  }

  /**
   * Cancels with `reason`, once, as an AbortController's abort does: the signal (if made) is aborted
   * first, then the listeners run in the order they were added (one removed by an earlier one is not
   * called). An error a listener throws is thrown again on the next tick, as an AbortSignal's
   * listener's is (the daemon logs it as uncaught); the other listeners still run.
   */
  cancel(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listener ? [this.#listener, ...(this.#more ?? [])] : (this.#more ?? []);
    for (const listener of listeners) {
      if (listener !== this.#listener && !this.#more?.includes(listener)) continue; // removed meanwhile
      try {
        listener(reason);
      } catch (error) {
        process.nextTick(() => {
          throw error;
        });
      }
    }
    this.#listener = undefined;
    this.#more = undefined;
  }

  #remove(listener: Listener): void {
    if (this.#listener === listener) {
      this.#listener = undefined;
      return;
    }
    const at = this.#more ? this.#more.indexOf(listener) : -1;
    if (at !== -1) this.#more?.splice(at, 1);
  }
}

type Listener = (reason: unknown) => void;

const noop = (): void => undefined;
