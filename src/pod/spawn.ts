/**
 * Starts one pod process (in its own process group, see process/spawn.ts) with piped stdio, and an
 * `exited` promise that settles on the process's exit, not on its pipes closing (a grandchild may
 * hold stderr open long after the pod died).
 */
import type { Readable, Writable } from 'node:stream';
import { spawnInGroup } from '../process/spawn.js';

export interface PodProcessSpec {
  executable: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
}

export interface ProcessExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  spawnError?: Error;
}

export interface PodProcess {
  pid: number | undefined;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<ProcessExit>;
}

export function spawnPodProcess(spec: PodProcessSpec): PodProcess {
  const subprocess = spawnInGroup(spec.executable, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdin: 'pipe',
  });
  const child = subprocess.nodeChildProcess;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    child.once('error', (spawnError) => {
      if (child.pid === undefined) resolve({ exitCode: null, signal: null, spawnError });
    });
  });
  // The result promise is not used (exit is observed above); it must never become an unhandled rejection.
  void subprocess.catch(() => undefined);
  return {
    pid: subprocess.pid,
    stdin: subprocess.stdin,
    stdout: subprocess.stdout,
    stderr: subprocess.stderr,
    exited,
  };
}
