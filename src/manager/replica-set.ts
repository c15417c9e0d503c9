/**
 * The pods of one recipe that have not exited yet (live or stopping), each with its replica index:
 * a new pod takes the lowest free index, so `ps` shows replicas 0, 1, 2… with no gap after a
 * replica is replaced.
 */
import type { Pod } from '../pod/pod.js';

export class ReplicaSet {
  readonly #pods = new Map<Pod, number>();

  get size(): number {
    return this.#pods.size;
  }

  /** In replica order. */
  all(): Pod[] {
    return [...this.#pods.entries()].sort((a, b) => a[1] - b[1]).map(([pod]) => pod);
  }

  /** The pods that take requests: starting, ready or busy. */
  live(): Pod[] {
    return this.all().filter(takesRequests);
  }

  /** The first pod that takes requests, with no array built: the hot path of a recipe without replicas. */
  firstLive(): Pod | undefined {
    for (const pod of this.#pods.keys()) if (takesRequests(pod)) return pod;
    return undefined;
  }

  has(pod: Pod): boolean {
    return this.#pods.has(pod);
  }

  /** A pod's replica index (0 for the first), or undefined for a pod not in the set. */
  indexOf(pod: Pod): number | undefined {
    return this.#pods.get(pod);
  }

  /** Adds `pod` at the lowest free index; answers it. */
  add(pod: Pod): number {
    const used = new Set(this.#pods.values());
    let index = 0;
    while (used.has(index)) index += 1;
    this.#pods.set(pod, index);
    return index;
  }

  delete(pod: Pod): void {
    this.#pods.delete(pod);
  }
}

function takesRequests(pod: Pod): boolean {
  return pod.state === 'starting' || pod.state === 'ready' || pod.state === 'busy';
}
