/**
 * The one way podkeeper starts a child process: in a session and process group of its own (so its
 * whole tree can be signalled at once, see group.ts), with exactly the environment given (nothing
 * inherited implicitly), stdout and stderr piped and never buffered, and no rejection for a failed
 * exit: callers observe the exit themselves.
 */
import { execa } from 'execa';

export interface GroupSpawnSpec<Stdin extends 'pipe' | 'ignore'> {
  cwd?: string;
  env: Record<string, string | undefined>;
  /** `pipe` for a child we talk to (a pod), `ignore` for a non-interactive command. */
  stdin: Stdin;
}

export function spawnInGroup<Stdin extends 'pipe' | 'ignore'>(
  executable: string,
  args: readonly string[],
  spec: GroupSpawnSpec<Stdin>,
) {
  return execa(executable, args, {
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: false,
    detached: true,
    cleanup: false,
    buffer: false,
    reject: false,
    stdin: spec.stdin,
    stdout: 'pipe',
    stderr: 'pipe',
  });
}
