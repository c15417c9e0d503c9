/**
 * What list, status and logs show: each live pod described with its supervisor's facts, from one
 * memory measurement, and a recipe's replicas' recent log lines interleaved by time.
 */
import type { PodLogLine } from '../pod/log-buffer.js';
import type { Pod } from '../pod/pod.js';
import type { PodInfo } from './events.js';
import type { MemoryBudget, MemoryReport } from './memory-budget.js';
import { describePod } from './pod-info.js';
import type { Supervisors } from './supervisors.js';

/** `pod` as list/start/stop report it, with what its supervisor knows (none for a smoke start). */
export function podInfo(supervisors: Supervisors, pod: Pod, rssMB: number | undefined): PodInfo {
  const supervisor = supervisors.of(pod);
  return describePod(
    pod,
    rssMB,
    supervisor && {
      restarts: supervisor.restarts,
      reclaimInSeconds: supervisor.reclaimInSeconds(pod),
      replica: supervisor.replicaOf(pod) ?? 0,
    },
  );
}

/** Every live pod and the memory budget, from one measurement (null figures when none could be taken). */
export async function snapshotPods(
  supervisors: Supervisors,
  budget: MemoryBudget,
): Promise<{ pods: PodInfo[]; memory: MemoryReport }> {
  const { usage, warning } = await budget.sample();
  const pods = supervisors.livePods().map((pod) => podInfo(supervisors, pod, usage?.get(pod.id)));
  const usedMB = usage ? Math.round([...usage.values()].reduce((a, b) => a + b, 0)) : null;
  return { pods, memory: { usedMB, maxMB: budget.maxMB, ...(warning ? { warning } : {}) } };
}

/** The last `lines` log lines of `pods`, oldest first; a recipe's replicas' lines interleaved by time. */
export function recentLogs(pods: Pod[], lines: number): PodLogLine[] {
  const merged = pods.flatMap((pod) => pod.logs.tail(lines));
  return pods.length > 1 ? merged.sort((a, b) => a.time - b.time).slice(-lines) : merged;
}
