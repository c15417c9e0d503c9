/**
 * Killing a pod's whole process tree. The spawned process is the pod's guardian, a session and group
 * leader, so `-pid` addresses it, the runner and every grandchild that did not start a session of
 * its own. What did (setsid() escapees) only the guardian can find: so the last step is not SIGKILL
 * to the group, which would kill the guardian first, but SIGUSR1, on which the guardian SIGKILLs the
 * runner, its group and every descendant, then exits. SIGKILL to the group remains the fallback.
 */
import { killGroup, send, track, wait } from '../process/group.js';

/** How long the guardian gets to kill the tree and exit before its group is SIGKILLed. */
const GUARDIAN_KILL_MS = 2000;

/** Kills the tree of the pod whose guardian is `pgid` now; resolves once `exited` settles. */
export async function killTree(pgid: number, exited: Promise<unknown>): Promise<void> {
  const exit = track(exited);
  if (!send(pgid, 'SIGUSR1')) killGroup(pgid, 'SIGKILL');
  await wait(GUARDIAN_KILL_MS, exit.settled);
  if (!exit.done) killGroup(pgid, 'SIGKILL');
  await exit.settled;
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
