/**
 * A spawn that produced no pid: the process never started. Node reports such a spawn's error on the
 * next tick (EMFILE: on a child without pipes), or throws it (spawn.ts then hands back a stand-in
 * whose exit is that error); should an error ever go unreported, `exit` and `error` never fire. The pod must not wait on that forever (its callers, a stop, the
 * daemon's shutdown would hang): past {@link SPAWN_REPORT_MS} it gives up and says why it thinks
 * the spawn failed.
 */
import { closeSync, openSync } from 'node:fs';
import type { ProcessExit } from './spawn.js';

/** How long a spawn that produced no pid may take to report its error. */
const SPAWN_REPORT_MS = 1000;

/** The exit of a process that got no pid: its spawn error when reported in time, else a diagnosis. */
export function whenSpawnFailed(exited: Promise<ProcessExit>): Promise<ProcessExit> {
  let timer: NodeJS.Timeout | undefined;
  const unreported = new Promise<ProcessExit>((resolve) => {
    timer = setTimeout(
      () => resolve({ exitCode: null, signal: null, spawnError: diagnoseSpawnFailure() }),
      SPAWN_REPORT_MS,
    );
  });
  const reported = exited.then((exit) =>
    exit.spawnError ? exit : { ...exit, spawnError: diagnoseSpawnFailure() },
  );
  return Promise.race([reported, unreported]).finally(() => clearTimeout(timer));
}

/** Why a spawn gave no pid when it did not say: running out of file descriptors is checked by opening one. */
function diagnoseSpawnFailure(): Error {
  try {
    closeSync(openSync('/dev/null', 'r'));
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'EMFILE' || code === 'ENFILE') {
      return Object.assign(new Error(`spawn ${code}: too many open files`), { code });
    }
  }
  return new Error('the process got no pid and its spawn reported no error');
}
