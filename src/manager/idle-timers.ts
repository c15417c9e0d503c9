/**
 * One idle timer per pod: armed after every reply that leaves the pod idle (on the hot path, so an
 * armed timer with the same delay is refreshed, not remade), it calls `onIdle` once the delay passes.
 * A delay of 0 calls it at once; a negative delay (never reclaim) arms nothing.
 */
import type { Pod } from '../pod/pod.js';

export class IdleTimers {
  readonly #onIdle: (pod: Pod, seconds: number) => void;
  readonly #timers = new Map<Pod, { timer: NodeJS.Timeout; seconds: number }>();

  constructor(onIdle: (pod: Pod, seconds: number) => void) {
    this.#onIdle = onIdle;
  }

  /** Arms (or re-arms) `pod`'s timer for `seconds`. */
  arm(pod: Pod, seconds: number): void {
    const armed = this.#timers.get(pod);
    if (armed && armed.seconds === seconds && seconds > 0) {
      armed.timer.refresh();
      return;
    }
    this.clear(pod);
    if (seconds < 0) return;
    const fire = () => {
      this.#timers.delete(pod);
      this.#onIdle(pod, seconds);
    };
    if (seconds === 0) {
      fire();
      return;
    }
    const timer = setTimeout(fire, seconds * 1000);
    timer.unref();
    this.#timers.set(pod, { timer, seconds });
  }

  clear(pod: Pod): void {
    clearTimeout(this.#timers.get(pod)?.timer);
    this.#timers.delete(pod);
  }
}
