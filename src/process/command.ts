/**
 * The one way podkeeper runs an external command (uv, pip, apt, a Python probe). Every command:
 *   - runs non-interactively (stdin closed) in its own process group, so a timeout or an abort kills
 *     its whole tree: SIGTERM to the group, SIGKILL after a short grace;
 *   - streams its output line by line to the log (debug) and to `onLine` (progress parsing);
 *   - keeps the last lines of its output for the error when it fails.
 * It never throws for a failed command: the caller decides what a failure means and turns the
 * result into its own coded error with {@link describeFailure}.
 */
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stripVTControlCharacters } from 'node:util';
import type { Logger } from 'pino';
import split2 from 'split2';
import { killGroup, wait } from './group.js';
import { runInGroup } from './spawn.js';

export interface CommandOptions {
  cwd?: string;
  /** The whole environment of the command (nothing is inherited implicitly). */
  env: Record<string, string | undefined>;
  /** Milliseconds before the command's tree is killed. @default 300 000 */
  timeoutMs?: number;
  /** Kills the command's tree when aborted. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Each output line (stdout and stderr), as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface CommandResult {
  command: string;
  args: string[];
  exitCode: number | null;
  signal: string | null;
  /** Its stdout (the first 5 000 lines). */
  stdout: string;
  /** The last lines of stdout and stderr interleaved, as they arrived. */
  outputTail: string[];
  durationMs: number;
  /** The limit it ran under, ms. */
  timeoutMs: number;
  timedOut: boolean;
  aborted: boolean;
  /** Set when the command could not be started (ENOENT, EACCES). */
  spawnError?: string;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 300_000;
const TAIL_LINES = 60;
const STDOUT_LINES = 5000;
const KILL_GRACE_MS = 2000;

export async function runCommand(
  command: string,
  args: string[],
  options: CommandOptions,
): Promise<CommandResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const log = options.logger?.child({ command: basename(command) });
  log?.debug({ args }, 'run');
  const { subprocess } = await runInGroup(command, args, { cwd: options.cwd, env: options.env });
  const tail: string[] = [];
  const stdout: string[] = [];
  const collect = (stream: 'stdout' | 'stderr') => (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (stream === 'stdout' && stdout.length < STDOUT_LINES) stdout.push(line);
    log?.debug({ stream }, line);
    options.onLine?.(line, stream);
  };
  const streamsDone = Promise.all([
    pipeLines(subprocess.stdout, collect('stdout')),
    pipeLines(subprocess.stderr, collect('stderr')),
  ]);

  let timedOut = false;
  let aborted = false;
  const pid = subprocess.pid;
  const killTree = async () => {
    if (pid === undefined) return;
    killGroup(pid, 'SIGTERM');
    await wait(KILL_GRACE_MS, exited);
    killGroup(pid, 'SIGKILL');
  };
  const exited = subprocess.then((result) => result);
  const deadline = AbortSignal.timeout(timeoutMs);
  const onDeadline = () => {
    timedOut = true;
    killTree().catch(() => undefined);
  };
  deadline.addEventListener('abort', onDeadline, { once: true });
  const onAbort = () => {
    aborted = true;
    killTree().catch(() => undefined);
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const result = await exited;
    // Nothing of the command's group may outlive it (a daemonised helper, a stuck build backend),
    // nor hold its pipes open: what it wrote is still read to the end.
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    await streamsDone;
    const spawnError =
      result.exitCode === undefined && result.signal === undefined ? result.shortMessage : undefined;
    const outcome: CommandResult = {
      command,
      args,
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      stdout: stdout.join('\n'),
      outputTail: tail,
      durationMs: performance.now() - started,
      timeoutMs,
      timedOut,
      aborted,
      ...(spawnError ? { spawnError } : {}),
    };
    log?.debug(
      { exitCode: outcome.exitCode, signal: outcome.signal, ms: Math.round(outcome.durationMs) },
      'done',
    );
    return outcome;
  } finally {
    deadline.removeEventListener('abort', onDeadline);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** True when the command ran to the end and exited 0. */
export function succeeded(result: CommandResult): boolean {
  return result.exitCode === 0 && !result.timedOut && !result.aborted;
}

/** One sentence saying how a command failed, followed by its last output lines. */
export function describeFailure(result: CommandResult): string {
  const what = `\`${basename(result.command)} ${result.args.join(' ')}\``;
  let how: string;
  if (result.spawnError) how = `could not be started (${result.spawnError})`;
  else if (result.timedOut) how = `timed out after ${Math.round(result.durationMs / 1000)} s and was killed`;
  else if (result.aborted) how = 'was stopped because podkeeper is shutting down';
  else if (result.signal) how = `was killed by ${result.signal}`;
  else how = `exited with code ${result.exitCode}`;
  const output = result.outputTail.filter((line) => line.trim() !== '').join('\n');
  return `${what} ${how}${output ? `:\n${output}` : '.'}`;
}

function pipeLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    stream
      .pipe(split2())
      .on('data', (line: string) => onLine(stripVTControlCharacters(line.trimEnd())))
      .on('end', resolve)
      .on('error', () => resolve());
    stream.on('error', () => resolve());
  });
}
