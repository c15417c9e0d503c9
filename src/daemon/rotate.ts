/** Size-based rotation of the daemon log: daemon.log → daemon.log.1 → … → daemon.log.<keep> (dropped). */
import { renameSync, rmSync, statSync } from 'node:fs';

/** Rotates `file` when it has reached `maxBytes`; returns whether it did. */
export function rotateIfLarge(file: string, maxBytes: number, keep: number): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size < maxBytes) return false;
  rmSync(`${file}.${keep}`, { force: true });
  for (let n = keep - 1; n >= 1; n--) {
    try {
      renameSync(`${file}.${n}`, `${file}.${n + 1}`);
    } catch {
      // that generation does not exist yet
    }
  }
  renameSync(file, `${file}.1`);
  return true;
}
