/**
 * Every error a pod reports is built here, from facts, so each message names the pod, says what
 * happened and what to do next, the same way every time.
 */
import { join } from 'node:path';
import { ERROR_CODES, type ErrorCode, PodkeeperError, unreadableLineCode } from '../errors.js';
import { PODS_DIR } from '../paths.js';
import { type ErrorBody, POD_PROTOCOL_VERSION } from '../protocol/pod.js';
import type { Where } from './spawn.js';

/** What is known about a pod process when it ends. */
export interface PodExitFacts {
  podId: string;
  recipe: string;
  pid: number | undefined;
  exitCode: number | null;
  signal: string | null;
  /** The last lines the pod wrote to stderr, oldest first. */
  stderrTail: string[];
  /** Milliseconds from spawn to exit. */
  uptimeMs: number;
}

function describeExit(facts: PodExitFacts): string {
  const how = facts.signal
    ? `was killed by ${facts.signal}`
    : `exited with code ${facts.exitCode ?? 'unknown'}`;
  return `Pod ${facts.podId} (recipe "${facts.recipe}", pid ${facts.pid ?? '?'}) ${how}`;
}

function withTail(message: string, tail: string[]): string {
  return tail.length === 0 ? message : `${message}\nLast stderr lines:\n${tail.join('\n')}`;
}

/** The error every request of a pod that ended with `reason` fails with. */
export function exitError(
  facts: PodExitFacts,
  reason: 'stopped' | 'crashed' | 'ready-timeout' | 'killed',
  more: {
    spawnError: Error | undefined;
    failure?: PodkeeperError | undefined;
    readyTimeoutMs: number;
    killWhy: string;
  },
): PodkeeperError {
  if (more.spawnError) return spawnFailed(facts, more.spawnError);
  // The process said why it ends (a launcher's REMOTE_LOST, NO_CAPACITY…): unless we stopped it, that is the error.
  if (more.failure && reason !== 'stopped') return launcherFailure(facts, more.failure);
  if (reason === 'ready-timeout') return readyTimeout(facts, more.readyTimeoutMs);
  if (reason === 'stopped') return podStopping(facts.podId, 'stopped');
  return podCrashed(facts, more.killWhy);
}

function launcherFailure(facts: PodExitFacts, failure: PodkeeperError): PodkeeperError {
  return new PodkeeperError(
    failure.code,
    `Pod ${facts.podId} (recipe "${facts.recipe}"): ${failure.message}`,
    { details: { ...facts, ...failure.details } },
  );
}

function podCrashed(facts: PodExitFacts, why = ''): PodkeeperError {
  return new PodkeeperError(
    'POD_CRASHED',
    withTail(
      `${describeExit(facts)}${why ? ` ${why}` : ''} before answering. The next request restarts it; ` +
        `see \`podkeeper logs ${facts.recipe}\`.`,
      facts.stderrTail,
    ),
    { details: { ...facts } },
  );
}

/** The process could not be started at all (no pid): out of descriptors or processes, no executable… */
function spawnFailed(facts: PodExitFacts, cause: Error): PodkeeperError {
  const errno = (cause as NodeJS.ErrnoException).code;
  return new PodkeeperError(
    'SPAWN_FAILED',
    `Pod ${facts.podId} (recipe "${facts.recipe}") could not be started: ${cause.message}. ` +
      `The next request tries again${errno === 'EMFILE' || errno === 'ENFILE' ? '; the daemon is out of file descriptors (raise `ulimit -n`)' : ''}.`,
    { cause, details: { ...facts, ...(errno ? { errno } : {}) } },
  );
}

function readyTimeout(facts: PodExitFacts, timeoutMs: number): PodkeeperError {
  return new PodkeeperError(
    'READY_TIMEOUT',
    withTail(
      `Pod ${facts.podId} (recipe "${facts.recipe}") sent neither "ready" nor a log line for ` +
        `${timeoutMs / 1000} s and was killed. Raise the recipe's readyTimeout if its setup is slow.`,
      facts.stderrTail,
    ),
    { details: { ...facts, timeoutMs } },
  );
}

/**
 * The pod's `ready` names another pod-protocol version: its runner (`podkeeper_pod`) is not this
 * podkeeper's. A local pod imports the copy the daemon puts first on its PYTHONPATH (never one in
 * the recipe's folder: see pythonBootstrap), unless a wrapper sets PYTHONPATH itself or makes the
 * interpreter ignore it (-E, -I) where another copy is installed; a pod started by a command launcher
 * on another machine or in a container imports the copy installed there.
 */
export function protocolMismatch(theirs: unknown, where: Where): PodkeeperError {
  const runner = join(PODS_DIR, 'podkeeper_pod');
  const named =
    theirs === null ? 'names no pod-protocol version' : `speaks pod protocol ${JSON.stringify(theirs)}`;
  const whence =
    where.locality === 'remote'
      ? `A pod on another machine or in a container (launcher "${where.launcher}") imports the runner ` +
        `installed there: give it this podkeeper's (${runner}), or run the same podkeeper version there.`
      : `The daemon puts its own (${runner}) first on the pod's PYTHONPATH: something put another copy ` +
        'ahead of it (a wrapper that sets PYTHONPATH itself, or runs the interpreter with -E or -I, ' +
        'which ignore it, where another copy is installed).';
  return new PodkeeperError(
    'PROTOCOL_MISMATCH',
    `its runner ${named}, and this podkeeper speaks ${POD_PROTOCOL_VERSION}: the runner (the Python ` +
      `package \`podkeeper_pod\`) comes from another podkeeper version. ${whence}`,
    { details: { protocol: theirs, expected: POD_PROTOCOL_VERSION, launcher: where.launcher } },
  );
}

export function podFatal(
  recipe: string,
  crashes: number,
  last: PodExitFacts | undefined,
  retryInMs: number,
): PodkeeperError {
  return new PodkeeperError(
    'POD_FATAL',
    withTail(
      `Recipe "${recipe}" crashed ${crashes} times in a row soon after starting and is not restarted ` +
        `for ${Math.ceil(retryInMs / 1000)} s; then the next call tries it again. Fix the cause, and run ` +
        `\`podkeeper start ${recipe}\` to try again at once.`,
      last?.stderrTail ?? [],
    ),
    { details: { recipe, crashes, last, retryInMs } },
  );
}

export function requestTimeout(podId: string, requestId: string, timeoutMs: number): PodkeeperError {
  return new PodkeeperError(
    'TIMEOUT',
    `Request ${requestId} to pod ${podId} got no answer within ${timeoutMs / 1000} s; the pod was asked to cancel it.`,
    { details: { podId, requestId, timeoutMs } },
  );
}

export function requestCancelled(podId: string, requestId: string, reason: unknown): PodkeeperError {
  return new PodkeeperError(
    'CANCELLED',
    `Request ${requestId} to pod ${podId} was cancelled by its caller.`,
    {
      cause: reason,
      details: { podId, requestId },
    },
  );
}

export function queueFull(podId: string, bound: number): PodkeeperError {
  return new PodkeeperError(
    'QUEUE_FULL',
    `Pod ${podId} already has ${bound} requests waiting. Retry later, or raise the recipe's concurrency.`,
    { details: { podId, bound } },
  );
}

export function podStopping(podId: string, state: string): PodkeeperError {
  return new PodkeeperError(
    'SHUTTING_DOWN',
    `Pod ${podId} is ${state} and takes no more requests; the next call starts a new pod.`,
    { details: { podId, state } },
  );
}

/** An error the pod itself answered with: its own code when it is one of ours, else HANDLER_ERROR. */
export function podAnsweredError(podId: string, body: ErrorBody): PodkeeperError {
  const known = (ERROR_CODES as readonly string[]).includes(body.code);
  const code: ErrorCode = known ? (body.code as ErrorCode) : 'HANDLER_ERROR';
  return new PodkeeperError(code, body.message, {
    details: { podId, ...(known ? {} : { podCode: body.code }), traceback: body.traceback },
  });
}

/** The pod's line for a request could not be read: too long, not UTF-8, not JSON, or not exact. */
export function unreadableAnswer(
  podId: string,
  requestId: string,
  bad: { reason: string; length: number; detail: string },
  limit: number,
): PodkeeperError {
  const details = { podId, requestId, reason: bad.reason, size: bad.length, limit };
  const code = unreadableLineCode(bad.reason);
  if (code === 'RESPONSE_TOO_LONG') {
    return new PodkeeperError(
      code,
      `Pod ${podId} answered request ${requestId} with a line of ${bad.length} bytes; the limit is ${limit} ` +
        '(maxLineLength). Return less, or stream it in chunks.',
      { details },
    );
  }
  return new PodkeeperError(
    code,
    `Pod ${podId} answered request ${requestId} with a line that cannot be read: ${bad.detail}`,
    {
      details,
    },
  );
}

/** The request itself cannot be written to the pod (JSON.stringify failed, e.g. nesting too deep). */
export function unsendable(podId: string, requestId: string, cause: unknown): PodkeeperError {
  const why = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
  return new PodkeeperError(
    'BAD_REQUEST',
    `Request ${requestId} cannot be sent to pod ${podId}: its input cannot be written as JSON (${why}).`,
    { cause, details: { podId, requestId } },
  );
}

/**
 * The runner could not read a request line and found no id in it (its `invalid` answer); the daemon
 * takes it for the oldest request it sent and has not had answered.
 */
export function unreadableRequest(podId: string, requestId: string, body: ErrorBody): PodkeeperError {
  const known = (ERROR_CODES as readonly string[]).includes(body.code);
  return new PodkeeperError(
    known ? (body.code as ErrorCode) : 'BAD_REQUEST',
    `Pod ${podId} could not read a request line with no id in it (${body.message}); request ${requestId}, ` +
      'the oldest one it had not answered, is failed for it.',
    { details: { podId, requestId, podCode: body.code } },
  );
}
