/** How much disk removing a folder gives back, for `gc` to report. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes of disk the tree at `dir` occupies and that its removal frees: allocated blocks of every
 * directory, link and file, except files that are hard-linked elsewhere too (uv links packages from
 * its cache into venvs: those bytes stay on disk). Links are not followed; a missing tree frees 0.
 */
export async function bytesFreedByRemoving(dir: string): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const path = pending.pop() as string;
    let stat: Awaited<ReturnType<typeof lstat>>;
    try {
      stat = await lstat(path);
    } catch {
      continue; // gone meanwhile
    }
    if (stat.isDirectory()) {
      total += allocated(stat);
      const names = await readdir(path).catch(() => [] as string[]);
      for (const name of names) pending.push(join(path, name));
    } else if (stat.nlink <= 1 || stat.isSymbolicLink()) {
      total += allocated(stat);
    }
  }
  return total;
}

/** Allocated bytes (`blocks` are 512-byte units on Linux and macOS; a short symlink takes none). */
function allocated(stat: { blocks: number }): number {
  return stat.blocks * 512;
}
