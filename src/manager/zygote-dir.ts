/**
 * The private folder of a manager's zygote sockets: `$TMPDIR/podkeeper-zygotes-<pid>-XXXXXX` (0700,
 * a short path: a Unix socket path has ~100 bytes at most). `Zygotes.close()` removes it; a manager
 * that died without closing (SIGKILL) leaves it behind, so making one first removes those of ours
 * whose manager's pid is gone.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'podkeeper-zygotes-';

export function createZygoteDir(): string {
  sweepStale(tmpdir());
  return mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
}

function sweepStale(parent: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  const me = process.geteuid?.();
  for (const entry of entries) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(entry)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || running(pid)) continue;
    const dir = join(parent, entry);
    try {
      if (statSync(dir).uid === me) rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: alive, someone else's
  }
}
