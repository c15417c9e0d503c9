/** The pod's public types: its options (with their defaults), states, exit and events. */
import type { Logger } from 'pino';
import type { PodkeeperError } from '../errors.js';
import type { ReadyMessage } from '../protocol/pod.js';
import type { PodExitFacts } from './failures.js';
import type { PodLogLine } from './log-buffer.js';
import type { Pod } from './pod.js';
import type { PodProcess, PodProcessSpec } from './spawn.js';

export type PodState = 'starting' | 'ready' | 'busy' | 'stopping' | 'stopped' | 'crashed';

/** Why a pod process ended. `killed` is a deliberate kill by the daemon (a request ignored cancel). */
export type ExitReason = 'stopped' | 'crashed' | 'ready-timeout' | 'killed';

/**
 * The process: a started one (`process`: a launcher's, or a pod forked from a zygote), or a command
 * the pod starts locally.
 */
export interface PodOptions extends Partial<PodProcessSpec> {
  process?: PodProcess;
  id: string;
  recipe: string;
  capability: string;
  /** Handlers the pod runs at once. @default 1 */
  concurrency?: number;
  /** Requests sent ahead of free handler slots, so the pipe never idles between requests. @default 32 */
  pipelining?: number;
  /** Requests that may wait in the daemon; beyond it `QUEUE_FULL`. @default 1024 */
  maxQueue?: number;
  /** Stall limit for `ready`, reset by every `log` line. @default 120_000 */
  readyTimeoutMs?: number;
  /** Whole stop sequence: shutdown, SIGTERM at half, SIGKILL at the end. @default 5_000 */
  stopGraceMs?: number;
  /** How long a cancelled request may take to answer before the pod is killed. @default 5_000 */
  cancelGraceMs?: number;
  /** @default 64 MiB */
  maxLineLength?: number;
  /** Lines kept in the pod's log ring. @default 1_000 */
  logLines?: number;
  logger?: Logger;
}

export interface PodExit {
  pod: Pod;
  reason: ExitReason;
  facts: PodExitFacts;
  error: PodkeeperError;
}

export interface PodEvents extends Record<string, unknown> {
  state: { pod: Pod; from: PodState; to: PodState };
  ready: { pod: Pod; ready: ReadyMessage; spawnToReadyMs: number };
  idle: { pod: Pod };
  /** A request was answered or given up on: a slot may be free (the pod itself is the value). */
  settled: Pod;
  log: PodLogLine;
  exit: PodExit;
}

export type ResolvedPodOptions = Required<Omit<PodOptions, 'logger' | 'process' | keyof PodProcessSpec>> &
  Pick<PodOptions, 'logger'>;

/** The options with every default filled in (an explicit `undefined` takes the default too). */
export function withDefaults(options: PodOptions): ResolvedPodOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return {
    concurrency: 1,
    pipelining: 32,
    maxQueue: 1024,
    readyTimeoutMs: 120_000,
    stopGraceMs: 5_000,
    cancelGraceMs: 5_000,
    maxLineLength: 64 * 1024 * 1024,
    logLines: 1_000,
    ...given,
  } as ResolvedPodOptions;
}

/** The process to start when the options give a command rather than a started `process`. */
export function localSpec(options: PodOptions): PodProcessSpec {
  const { executable, args, cwd, env } = options;
  if (executable === undefined || cwd === undefined) {
    throw new TypeError(
      'Pod: give either `process` or the command to start (`executable`, `args`, `cwd`, `env`)',
    );
  }
  return { executable, args: args ?? [], cwd, env: env ?? {} };
}
