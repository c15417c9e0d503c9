/**
 * Remote capacity is the cluster's, not the budget's: when a remote pod has asked its cluster for a
 * node and still waits after CONTENTION_MS, the daemon's own idle pods of the same launcher may
 * hold what it needs (an idle pod holding `gpu_host: 1` while another recipe asks for it). They are
 * stopped, least recently used first, one at a time, while it waits: without that, the second call
 * waited for the first pod's idle timeout, or failed with NO_CAPACITY.
 */
import type { Pod } from '../pod/pod.js';

const CONTENTION_MS = 2000;
const LOOK_EVERY_MS = 250;

export interface ContentionDeps {
  /** Live pods of the daemon (any recipe). */
  livePods(): Pod[];
  /** Stops `pod` to free what a pod of `forRecipe` waits for (the caller reports it). */
  reclaim(pod: Pod, forRecipe: string): Promise<void>;
  now?: () => number;
}

/** Watches a remote pod's placement until it is placed or gone. */
export function watchPlacement(pod: Pod, deps: ContentionDeps): void {
  if (pod.where.locality !== 'remote') return;
  const now = deps.now ?? Date.now;
  let reclaiming = false;
  const timer = setInterval(() => {
    const { placing, askedAt } = pod.where;
    if (pod.state !== 'starting' || !placing) {
      clearInterval(timer);
      return;
    }
    if (reclaiming || askedAt === undefined || now() - askedAt < CONTENTION_MS) return;
    const victim = idleHolders(pod, deps.livePods())[0];
    if (!victim) return;
    reclaiming = true;
    void deps.reclaim(victim, pod.recipe).finally(() => {
      reclaiming = false;
    });
  }, LOOK_EVERY_MS);
  timer.unref();
  void pod.exited.finally(() => clearInterval(timer));
}

/** Idle pods that may hold what `waiting` asks for: placed by the same launcher, oldest use first. */
function idleHolders(waiting: Pod, pods: Pod[]): Pod[] {
  return pods
    .filter((pod) => pod !== waiting && pod.idle && pod.where.launcher === waiting.where.launcher)
    .filter((pod) => pod.where.locality === 'remote' && !pod.where.placing)
    .sort((a, b) => a.lastUsedMono - b.lastUsedMono);
}
