/** A pod as `list()`, `start()` and `stop()` report it. */
import type { Pod } from '../pod/pod.js';
import type { PodInfo } from './events.js';

/** `supervisor`: what the pod's supervisor knows (none for an install's smoke start). */
export function describePod(
  pod: Pod,
  rssMB: number | undefined,
  supervisor?: { restarts: number; reclaimInSeconds: number | null },
): PodInfo {
  return {
    id: pod.id,
    recipe: pod.recipe,
    capability: pod.capability,
    state: pod.state === 'starting' && pod.where.placing ? 'placing' : pod.state,
    // The runner's pid once ready (what a user kills); before that, the guardian's (see terminate.ts).
    // A remote runner's pid is another machine's: a remote pod shows its local process (the bridge).
    pid: (pod.where.locality === 'local' ? pod.readyInfo?.pid : undefined) ?? pod.pid ?? null,
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
