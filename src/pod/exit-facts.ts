/**
 * What a pod's exit was: its facts (exit code, signal, the last stderr lines, uptime), why it ended,
 * and the error its requests fail with. The last stderr lines (a traceback) may still be in the pipe
 * when the process has exited: they get a moment to arrive.
 */
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { PodkeeperError } from '../errors.js';
import { wait } from '../process/group.js';
import { exitError, type PodExitFacts } from './failures.js';
import type { LogBuffer } from './log-buffer.js';
import type { ExitReason } from './types.js';

const STDERR_TAIL = 20;
const STDERR_GRACE_MS = 100;

export interface ExitInput {
  podId: string;
  recipe: string;
  pid: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | undefined;
  /** A launcher's coded reason for the end (REMOTE_LOST…), said by the process itself. */
  failure?: PodkeeperError | undefined;
  stderr: Readable;
  logs: LogBuffer;
  /** performance.now() at the spawn. */
  spawnedAt: number;
  /** Why the daemon ended it, when it did (stop, kill, ready timeout). */
  endedBecause: ExitReason | undefined;
  readyTimeoutMs: number;
  killWhy: string;
}

export async function describeExit(
  input: ExitInput,
): Promise<{ facts: PodExitFacts; reason: ExitReason; error: PodkeeperError }> {
  const { stderr, spawnError } = input;
  if (!stderr.closed) await wait(STDERR_GRACE_MS, new Promise((resolve) => stderr.once('close', resolve)));
  const stderrTail = input.logs
    .tail(STDERR_TAIL, (line) => line.source === 'stderr')
    .map((line) => line.message);
  if (spawnError) stderrTail.push(String(spawnError));
  const facts: PodExitFacts = {
    podId: input.podId,
    recipe: input.recipe,
    pid: input.pid,
    exitCode: input.exitCode,
    signal: input.signal,
    stderrTail,
    uptimeMs: Math.round(performance.now() - input.spawnedAt),
  };
  // A process that never started is a failure even when a stop came first: nothing was stopped.
  const reason: ExitReason = spawnError ? 'crashed' : (input.endedBecause ?? 'crashed');
  const error = exitError(facts, reason, {
    spawnError,
    failure: input.failure,
    readyTimeoutMs: input.readyTimeoutMs,
    killWhy: input.killWhy,
  });
  return { facts, reason, error };
}
