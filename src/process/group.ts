/** Signalling a process group and waiting with a deadline: what every child process we start needs. */

/** Sends `signal` to the process group led by `pgid`; false when no process of it was left. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return send(-pgid, signal);
}

/** `process.kill`, false when the target is gone (ESRCH). */
export function send(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** `settled` resolves (never rejects) once `exited` settles; `done` says whether it has. */
export function track(exited: Promise<unknown>): { settled: Promise<void>; readonly done: boolean } {
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
