/**
 * Killing a pod's whole process tree, through its process handle (spawn.ts): for a local pod the
 * spawned process is the guardian, a session and group leader, so SIGTERM and SIGKILL reach it, the
 * runner and every grandchild that did not start a session of its own. What did (setsid() escapees)
 * only the guardian can find: so the last step is not SIGKILL to the group, which would kill the
 * guardian first, but SIGUSR1, on which the guardian SIGKILLs the runner, its group and every
 * descendant, then exits. SIGKILL remains the fallback. A bridge to a remote pod takes the same
 * signals and does the same on its node.
 */
import { track, wait } from '../process/group.js';
import type { PodProcess } from './spawn.js';

type Signalled = Pick<PodProcess, 'signal'>;

/** How long the guardian gets to kill the tree and exit before its group is SIGKILLed. */
const GUARDIAN_KILL_MS = 2000;

/** Kills the pod's tree now; resolves once `exited` settles. */
export async function killTree(pod: Signalled, exited: Promise<unknown>): Promise<void> {
  const exit = track(exited);
  if (!pod.signal('SIGUSR1')) pod.signal('SIGKILL');
  await wait(GUARDIAN_KILL_MS, exit.settled);
  if (!exit.done) pod.signal('SIGKILL');
  await exit.settled;
}

/**
 * Terminates in steps with deadlines: `polite()` (the shutdown request) first, SIGTERM to the group
 * after half the grace, `killTree` after the rest. Resolves once `exited` has settled.
 */
export async function terminateGroup(
  pod: Signalled,
  exited: Promise<unknown>,
  graceMs: number,
  polite?: () => void,
): Promise<void> {
  const exit = track(exited);
  polite?.();
  await wait(graceMs / 2, exit.settled);
  if (exit.done) return;
  pod.signal('SIGTERM');
  await wait(graceMs / 2, exit.settled);
  if (exit.done) return;
  await killTree(pod, exited);
}
