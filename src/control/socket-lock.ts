/**
 * The start-up lock of a control socket: `<socket>.lock`, a file naming the pid of the daemon that
 * is checking and binding the socket (held for milliseconds).
 *
 *   write <lock>.<pid>.tmp ─▶ link() to <lock> ─ EEXIST ─▶ holder dead, or lock older than STALE_MS?
 *        (atomic: the lock always names its pid)        ├─ yes ─▶ remove it, try again at once
 *                                                       └─ no ──▶ retry for WAIT_MS, then DAEMON_ALREADY_RUNNING
 *
 * A daemon killed with SIGKILL while it held the lock leaves the file behind; its pid is dead, so
 * the next daemon takes it over at once. The age limit only covers a recycled pid. A directory at
 * the path is the lock of an older podkeeper (no pid): stale once older than STALE_MS.
 */
import { linkSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodkeeperError } from '../errors.js';

/** A live holder binds within milliseconds: one that holds the lock this long is waited for no more. */
const WAIT_MS = 3000;
/** Older than this, a lock is stale even if its pid runs (a recycled pid, or a hung daemon). */
const STALE_MS = 10_000;
const RETRY_MS = 25;

/** Takes the lock for `socketPath`; resolves with its release. */
export async function lockSocket(socketPath: string): Promise<() => void> {
  const path = `${socketPath}.lock`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (tryCreate(path)) return () => removeIfOurs(path);
    const holder = inspect(path);
    if (holder.stale) {
      discard(path, holder.ino);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new PodkeeperError(
        'DAEMON_ALREADY_RUNNING',
        `The start-up lock ${path} is held by process ${holder.pid ?? '(unknown)'}, a daemon starting on ` +
          `${socketPath}. If no podkeeper runs there, remove ${path}.`,
        { details: { socket: socketPath, lock: path, pid: holder.pid } },
      );
    }
    await sleep(RETRY_MS);
  }
}

function tryCreate(path: string): boolean {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

interface Holder {
  pid: number | undefined;
  ino: number | undefined;
  stale: boolean;
}

function inspect(path: string): Holder {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return { pid: undefined, ino: undefined, stale: true }; // released meanwhile: try again
  }
  const old = Date.now() - stat.mtimeMs > STALE_MS;
  if (stat.isDirectory()) return { pid: undefined, ino: stat.ino, stale: old };
  let pid: number | undefined;
  try {
    pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch {
    return { pid: undefined, ino: stat.ino, stale: true };
  }
  if (!Number.isInteger(pid) || pid <= 0) return { pid: undefined, ino: stat.ino, stale: old };
  return { pid, ino: stat.ino, stale: old || !isRunning(pid) };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * Removes the stale lock seen as inode `ino`. It is first renamed aside, so that of two daemons
 * taking over the same stale lock, only one removes it; if what was moved is not the stale lock (a
 * third daemon's fresh one), it is put back.
 */
function discard(path: string, ino: number | undefined): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return; // another daemon moved it first
  }
  if (ino !== undefined && statSync(aside).ino !== ino) {
    try {
      linkSync(aside, path);
    } catch {
      // a fourth daemon took the lock meanwhile; the socket probe and bind still refuse a double start
    }
  }
  rmSync(aside, { recursive: true, force: true });
}

function removeIfOurs(path: string): void {
  try {
    if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) unlinkSync(path);
  } catch {
    // gone already
  }
}
