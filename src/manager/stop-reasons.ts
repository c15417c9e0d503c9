/** Why each pod is being stopped, for its `pod.stopped` event: the first reason given wins. */
import type { Pod } from '../pod/pod.js';
import type { StopReason } from './events.js';

export class StopReasons {
  readonly #reasons = new WeakMap<Pod, StopReason>();

  /** Records why `pod` stops, unless a reason was given first (`replace`: this one wins anyway). */
  note(pod: Pod | undefined, reason: StopReason, options: { replace?: boolean } = {}): void {
    if (pod && (options.replace || !this.#reasons.has(pod))) this.#reasons.set(pod, reason);
  }

  get(pod: Pod): StopReason | undefined {
    return this.#reasons.get(pod);
  }
}
