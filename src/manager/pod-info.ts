/** A pod as `list()`, `start()` and `stop()` report it. */
import type { Pod } from '../pod/pod.js';
import type { PodInfo } from './events.js';

/**
 * The pid a pod is shown with: the runner's once ready (what a user kills); before that, the process
 * the daemon started (the guardian, see terminate.ts). A remote runner's pid is another machine's: a
 * remote pod shows its local process (the bridge).
 */
export function shownPid(pod: Pod): number | undefined {
  return (pod.where.locality === 'local' ? pod.readyInfo?.pid : undefined) ?? pod.pid;
}

/** `supervisor`: what the pod's supervisor knows (none for an install's smoke start). */
export function describePod(
  pod: Pod,
  rssMB: number | undefined,
  supervisor?: { restarts: number; reclaimInSeconds: number | null; replica: number },
): PodInfo {
  return {
    id: pod.id,
    recipe: pod.recipe,
    replica: supervisor?.replica ?? 0,
    capability: pod.capability,
    state: pod.state === 'starting' && pod.where.placing ? 'placing' : pod.state,
    pid: shownPid(pod) ?? null,
    rssMB: rssMB === undefined ? null : Math.round(rssMB * 10) / 10,
    startedAt: new Date(pod.startedAt).toISOString(),
    lastUsedAt: new Date(pod.lastUsedAt).toISOString(),
    inFlight: pod.inFlight,
    queued: pod.queued,
    calls: pod.calls,
    spawnToReadyMs: pod.spawnToReadyMs === undefined ? null : Math.round(pod.spawnToReadyMs),
    restarts: supervisor?.restarts ?? 0,
    reclaimInSeconds: supervisor?.reclaimInSeconds ?? null,
    where: {
      launcher: pod.where.launcher,
      locality: pod.where.locality,
      ...(pod.where.node ? { node: pod.where.node } : {}),
      ...(pod.where.host ? { host: pod.where.host } : {}),
    },
  };
}
