/**
 * Starts one pod process (in its own process group, see process/spawn.ts) with piped stdio, and an
 * `exited` promise that settles on the process's exit, not on its pipes closing (a grandchild may
 * hold stderr open long after the pod died).
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
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
  let child: ReturnType<typeof spawnInGroup>;
  try {
    child = spawnInGroup(spec.executable, spec.args, { cwd: spec.cwd, env: spec.env });
  } catch (spawnError) {
    // Thrown for bad arguments and some errno values; the process never started.
    return stillborn(spawnError as Error);
  }
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    child.once('error', (spawnError) => {
      if (child.pid === undefined) resolve({ exitCode: null, signal: null, spawnError });
    });
  });
  // Out of descriptors (EMFILE), Node gives a child without pipes and reports the error next tick.
  return {
    pid: child.pid,
    stdin: child.stdin ?? new PassThrough(),
    stdout: child.stdout ?? ended(),
    stderr: child.stderr ?? ended(),
    exited,
  };
}

/** A process that never started: streams that carry nothing, and its spawn error as its exit. */
function stillborn(spawnError: Error): PodProcess {
  return {
    pid: undefined,
    stdin: new PassThrough(),
    stdout: ended(),
    stderr: ended(),
    exited: Promise.resolve({ exitCode: null, signal: null, spawnError }),
  };
}

function ended(): Readable {
  const stream = new PassThrough();
  stream.end();
  return stream;
}
