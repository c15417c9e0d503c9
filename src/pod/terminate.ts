/**
 * Killing a pod's whole process tree. The spawned process is the pod's guardian, a session and group
 * leader, so `-pid` addresses it, the runner and every grandchild that did not start a session of
 * its own. What did (setsid() escapees) only the guardian can find: so the last step is not SIGKILL
 * to the group, which would kill the guardian first, but SIGUSR1, on which the guardian SIGKILLs the
 * runner, its group and every descendant, then exits. SIGKILL to the group remains the fallback.
 */

/** How long the guardian gets to kill the tree and exit before its group is SIGKILLed. */
const GUARDIAN_KILL_MS = 2000;

/** Sends `signal` to the process group led by `pgid`; false when no process of it was left. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return send(-pgid, signal);
}

/** Kills the tree of the pod whose guardian is `pgid` now; resolves once `exited` settles. */
export async function killTree(pgid: number, exited: Promise<unknown>): Promise<void> {
  const exit = track(exited);
  if (!send(pgid, 'SIGUSR1')) killGroup(pgid, 'SIGKILL');
  await wait(GUARDIAN_KILL_MS, exit.settled);
  if (!exit.done) killGroup(pgid, 'SIGKILL');
  await exit.settled;
}

/** `process.kill`, false when the target is gone (ESRCH). */
function send(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** `settled` resolves (never rejects) once `exited` settles; `done` says whether it has. */
function track(exited: Promise<unknown>): { settled: Promise<void>; readonly done: boolean } {
  const state = { done: false, settled: Promise.resolve() };
  const finish = () => {
    state.done = true;
  };
  state.settled = exited.then(finish, finish);
  return state;
}

/** Resolves after `ms`, or when `until` settles first. */
export function wait(ms: number, until?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    until?.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/**
 * Terminates in steps with deadlines: `polite()` (the shutdown request) first, SIGTERM to the group
 * after half the grace, `killTree` after the rest. Resolves once `exited` has settled.
 */
export async function terminateGroup(
  pgid: number,
  exited: Promise<unknown>,
  graceMs: number,
  polite?: () => void,
): Promise<void> {
  const exit = track(exited);
  polite?.();
  await wait(graceMs / 2, exit.settled);
  if (exit.done) return;
  killGroup(pgid, 'SIGTERM');
  await wait(graceMs / 2, exit.settled);
  if (exit.done) return;
  await killTree(pgid, exited);
}
