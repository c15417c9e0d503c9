/**
 * The one way podkeeper starts a child process: in a session and process group of its own (so its
 * whole tree can be signalled at once, see group.ts), with exactly the environment given (nothing
 * inherited implicitly), stdout and stderr piped and never buffered, and no rejection for a failed
 * exit: callers observe the exit themselves. Two forms of it:
 *   - {@link spawnInGroup}: `node:child_process`, for pods (started often, by a daemon that stays
 *     small; throws where Node's spawn throws);
 *   - {@link runInGroup}: execa, loaded on first use, for the commands runCommand awaits (env
 *     builds): a daemon that builds no env never loads execa's ~110 modules.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface GroupSpawnSpec {
  cwd?: string;
  env: Record<string, string | undefined>;
}

/** A child we talk to over its stdin and stdout (a pod). Out of descriptors (EMFILE) its stdio is null. */
export function spawnInGroup(
  executable: string,
  args: readonly string[],
  spec: GroupSpawnSpec,
): ChildProcess {
  return spawn(executable, args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * A non-interactive command (stdin closed), once execa is loaded. The subprocess comes wrapped: it is
 * itself a promise of its result, which an async function's return would wait for.
 */
export async function runInGroup(executable: string, args: readonly string[], spec: GroupSpawnSpec) {
  const { execa } = await import('execa');
  const subprocess = execa(executable, args, {
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: false,
    detached: true,
    cleanup: false,
    buffer: false,
    reject: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  return { subprocess };
}
