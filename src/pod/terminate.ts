/**
 * Killing a pod's whole process group. Pods are session leaders, so `-pid` addresses the runner and
 * every grandchild that did not start a session of its own.
 */

/** Sends `signal` to the process group led by `pgid`; false when no process of it was left. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
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
 * after half the grace, SIGKILL after the rest. Resolves once `exited` has settled.
 */
export async function terminateGroup(
  pgid: number,
  exited: Promise<unknown>,
  graceMs: number,
  polite?: () => void,
): Promise<void> {
  let done = false;
  const tracked = exited.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  polite?.();
  await wait(graceMs / 2, tracked);
  if (done) return;
  killGroup(pgid, 'SIGTERM');
  await wait(graceMs / 2, tracked);
  if (done) return;
  killGroup(pgid, 'SIGKILL');
  await tracked;
}
