/**
 * What list, status and logs show: each live pod described with its supervisor's facts, from one
 * memory measurement; the zygotes and the fatal recipes; a recipe's replicas' recent log lines
 * interleaved by time.
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

/** A running zygote as status shows it: its recipe, pid and memory as the budget counts it, MB. */
export interface ZygoteView {
  recipe: string;
  pid: number;
  memoryMB: number | null;
}

/** The zygotes that share pages with their pods, each with its memory from one budget measurement. */
export async function zygoteViews(
  running: { id: string; pid: number; recipe: string; sharesPages: boolean }[],
  budget: MemoryBudget,
): Promise<ZygoteView[]> {
  const zygotes = running.filter((zygote) => zygote.sharesPages);
  if (zygotes.length === 0) return [];
  const { usage } = await budget.sample();
  return zygotes.map(({ recipe, pid, id }) => {
    const mb = usage?.get(id);
    return { recipe, pid, memoryMB: mb === undefined ? null : Math.round(mb * 10) / 10 };
  });
}

/** The recipes in the POD_FATAL state: how many crashes, when they are tried again, the last stderr lines. */
export function fatalRecipes(
  supervisors: Supervisors,
): { recipe: string; crashes: number; retryInMs: number; stderrTail: string[] }[] {
  return supervisors.all().flatMap((supervisor) => {
    const fatal = supervisor.fatalState();
    return fatal ? [{ recipe: supervisor.name, ...fatal }] : [];
  });
}
