/** What the manager reports: pod snapshots and the events a control client can subscribe to. */

import type { EnvEvent } from '../env/events.js';
import type { PodkeeperError } from '../errors.js';
import type { ExitReason, PodExit, PodState } from '../pod/pod.js';
import type { LogLevel } from '../protocol/pod.js';

/**
 * Why a pod was stopped (not crashed): idle past its timeout, keep-alive 0 after a call, evicted to
 * make room for another recipe's pod, a stop request, its recipe upgraded or removed, shutdown.
 */
export type StopReason =
  | { why: 'idle'; idleSeconds: number }
  | { why: 'keepAlive' }
  | { why: 'evicted'; for: string }
  | { why: 'stopped' }
  | { why: 'upgraded' }
  | { why: 'shutdown' };

/** A pod as `pods.list` shows it. Times are ISO-8601; rssMB is the measured RSS of its process tree. */
export interface PodInfo {
  id: string;
  recipe: string;
  /** Which of its recipe's replicas this pod is: 0 for the first (see the recipe's `replicas`). */
  replica: number;
  capability: string;
  /** `placing`: a remote pod still waiting for a node. */
  state: PodState | 'placing';
  pid: number | null;
  rssMB: number | null;
  startedAt: string;
  lastUsedAt: string;
  inFlight: number;
  queued: number;
  calls: number;
  spawnToReadyMs: number | null;
  /** Pods of this recipe started again after a crash, since the daemon started. */
  restarts: number;
  /** Seconds until this idle pod is reclaimed; null while busy or when it never is. */
  reclaimInSeconds: number | null;
  where: { launcher: string; locality: 'local' | 'remote'; node?: string; host?: string };
}

export type ManagerEvent =
  | EnvEvent
  | { event: 'pod.spawned'; podId: string; recipe: string; pid: number | undefined }
  | { event: 'pod.state'; podId: string; recipe: string; from: PodState; to: PodState }
  | {
      event: 'pod.ready';
      podId: string;
      recipe: string;
      spawnToReadyMs: number;
      memoryMB: number;
      /** The pid `pods.list` shows from now on: the runner's (a remote pod's: its local process). */
      pid: number | undefined;
    }
  | { event: 'pod.reclaimed'; podId: string; recipe: string; idleSeconds: number }
  | { event: 'pod.evicted'; podId: string; recipe: string }
  | { event: 'pod.stopped'; podId: string; recipe: string; reason?: StopReason }
  | {
      event: 'pod.crashed';
      podId: string;
      recipe: string;
      reason: ExitReason;
      exitCode: number | null;
      signal: string | null;
      uptimeMs: number;
      stderrTail: string[];
    }
  | { event: 'pod.fatal'; recipe: string; message: string }
  | {
      event: 'pod.log';
      podId: string;
      recipe: string;
      time: number;
      source: 'stderr' | 'pod' | 'daemon';
      level: LogLevel;
      message: string;
    };

/**
 * One call, finished: how long it took from `call()` to its answer, and `ok` or the error's code.
 * Reported on `PodManager.calls` (not the event stream) for metrics.
 */
export interface CallFinished {
  recipe: string;
  ms: number;
  outcome: string;
}

/** What the manager reports when a pod ends: stopped, or crashed (and fatal when it gave up). */
export function podExitEvents(
  exit: PodExit,
  fatal: PodkeeperError | undefined,
  stopReason?: StopReason,
): ManagerEvent[] {
  const { pod, reason, facts } = exit;
  if (reason === 'stopped')
    return [
      {
        event: 'pod.stopped',
        podId: pod.id,
        recipe: pod.recipe,
        ...(stopReason === undefined ? {} : { reason: stopReason }),
      },
    ];
  const { exitCode, signal, uptimeMs, stderrTail } = facts;
  const crashed: ManagerEvent = {
    event: 'pod.crashed',
    podId: pod.id,
    recipe: pod.recipe,
    reason,
    exitCode,
    signal,
    uptimeMs,
    stderrTail,
  };
  return fatal ? [crashed, { event: 'pod.fatal', recipe: pod.recipe, message: fatal.message }] : [crashed];
}
