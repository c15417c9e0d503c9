/**
 * Which replica of a recipe takes the next call, and whether the recipe should start another one
 * (docs/architecture.md#warm-pools-and-replicas). Pure: the supervisor owns the pods and the timers.
 *
 *   live pods ─▶ ready or busy ones (a starting replica takes calls only when none is up)
 *             ─▶ fewest outstanding requests (in flight + queued), ties by round robin
 *             ─▶ every candidate has `concurrency` or more outstanding? the call would wait: scale up
 */
import type { Pod } from '../pod/pod.js';

export type ReplicaView = Pick<Pod, 'state' | 'inFlight' | 'queued'>;

export interface ReplicaChoice<P extends ReplicaView> {
  /** The pod for this call; undefined when no pod is live. */
  pod: P | undefined;
  /** True when the chosen pod is already full: another replica would serve the call sooner. */
  saturated: boolean;
}

/**
 * Chooses among `live` (pods starting, ready or busy, in replica order); `turn` is a counter the
 * caller increments on each call, so equally loaded replicas take turns.
 */
export function chooseReplica<P extends ReplicaView>(
  live: readonly P[],
  concurrency: number,
  turn: number,
): ReplicaChoice<P> {
  const up = live.filter((pod) => pod.state === 'ready' || pod.state === 'busy');
  const candidates = up.length > 0 ? up : live;
  if (candidates.length === 0) return { pod: undefined, saturated: false };
  let best: P | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (let i = 0; i < candidates.length; i++) {
    const pod = candidates[(turn + i) % candidates.length] as P;
    const load = pod.inFlight + pod.queued;
    if (load < bestLoad) {
      best = pod;
      bestLoad = load;
    }
  }
  return { pod: best, saturated: bestLoad >= concurrency };
}

/** Whether another replica may start: below `max` counting those on the way, and the call would wait. */
export function shouldScaleUp(
  choice: { saturated: boolean },
  live: number,
  starting: number,
  max: number,
): boolean {
  return choice.saturated && live + starting < max;
}
