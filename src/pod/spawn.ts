/**
 * A pod's process as the pod sees it, whoever started it (the launcher seam), and the local start
 * (in its own process group, see process/spawn.ts) with piped stdio, and an `exited` promise that
 * settles on the process's exit, not on its pipes closing (a grandchild may hold stderr open long
 * after the pod died).
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { PodkeeperError } from '../errors.js';
import { killGroup, send } from '../process/group.js';
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
  /** A launcher's coded reason for the end (REMOTE_LOST, NO_CAPACITY…), said by the process itself. */
  failure?: PodkeeperError;
}

/**
 * What the pod may ask of its process: SIGTERM (stop), SIGUSR1 (kill the whole tree now: the
 * guardian or bridge does it), SIGKILL (kill what is left, now).
 */
export type PodSignal = 'SIGTERM' | 'SIGUSR1' | 'SIGKILL';

/** Where a pod runs, for `ps` and `status`. */
export interface Where {
  /** The launcher's name: `local`, or one named in the daemon's config. */
  launcher: string;
  locality: 'local' | 'remote';
  /** Waiting for a node to take it (a remote launcher's placement). */
  placing?: boolean;
  /** Epoch ms when it asked its cluster for a node (while `placing`). */
  askedAt?: number;
  node?: string;
  host?: string;
}

export interface PodProcess {
  /** The local process the daemon started (the guardian, a bridge, a wrapper command), or a forked pod's guardian. */
  pid: number | undefined;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<ProcessExit>;
  /** Signals the pod's tree; false when nothing of it was left to signal. */
  signal(signal: PodSignal): boolean;
  readonly where: Where;
  /**
   * A pod forked from a zygote (launch/forked-spare.ts): `pid` is its guardian, and most of its
   * tree's resident pages are the zygote's, so the memory budget counts the tree's private pages.
   */
  readonly forked?: boolean;
}

const LOCAL: Where = Object.freeze({ launcher: 'local', locality: 'local' });

/**
 * Starts `spec` as a session leader. SIGTERM and SIGKILL go to its whole group; SIGUSR1 to the
 * leader alone (the guardian, which then kills its tree, setsid() escapees included).
 */
export function spawnPodProcess(spec: PodProcessSpec, where: Where = LOCAL): PodProcess {
  let child: ReturnType<typeof spawnInGroup>;
  try {
    child = spawnInGroup(spec.executable, spec.args, { cwd: spec.cwd, env: spec.env });
  } catch (spawnError) {
    // Thrown for bad arguments and some errno values; the process never started.
    return stillborn(spawnError as Error, where);
  }
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    child.once('error', (spawnError) => {
      if (child.pid === undefined) resolve({ exitCode: null, signal: null, spawnError });
    });
  });
  // Out of descriptors (EMFILE), Node gives a child without pipes and reports the error next tick.
  const pid = child.pid;
  return {
    pid,
    stdin: child.stdin ?? new PassThrough(),
    stdout: child.stdout ?? ended(),
    stderr: child.stderr ?? ended(),
    exited,
    where,
    signal: (signal) => {
      if (pid === undefined) return false;
      return signal === 'SIGUSR1' ? send(pid, signal) : killGroup(pid, signal);
    },
  };
}

/** A process that never started: streams that carry nothing, and its spawn error as its exit. */
function stillborn(spawnError: Error, where: Where): PodProcess {
  return {
    pid: undefined,
    stdin: new PassThrough(),
    stdout: ended(),
    stderr: ended(),
    exited: Promise.resolve({ exitCode: null, signal: null, spawnError }),
    where,
    signal: () => false,
  };
}

function ended(): Readable {
  const stream = new PassThrough();
  stream.end();
  return stream;
}
