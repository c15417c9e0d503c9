/**
 * Size-based rotation of the daemon log: daemon.log → daemon.log.1 → … → daemon.log.<keep> (dropped).
 *
 *   at start: rotateIfLarge (the file a previous daemon left)
 *   while running: rotateAsWritten counts the bytes sonic-boom has written ('write' events); past
 *   maxBytes it renames the generations and reopens daemon.log. A write already under way ends in
 *   the old file; what is still buffered goes to the new one, so no line is split or lost.
 */
import { renameSync, rmSync, statSync } from 'node:fs';
import type { pino } from 'pino';

/** pino's file destination (a sonic-boom). */
type Destination = ReturnType<typeof pino.destination>;

/** Rotates `file` when it has reached `maxBytes`; returns whether it did. */
export function rotateIfLarge(file: string, maxBytes: number, keep: number): boolean {
  const size = sizeOf(file);
  if (size === undefined || size < maxBytes) return false;
  rotate(file, keep);
  return true;
}

/**
 * Rotates `file` as soon as `destination` (opened on it) has written `maxBytes` into it. Returns the
 * disposer.
 */
export function rotateAsWritten(
  destination: Destination,
  file: string,
  maxBytes: number,
  keep: number,
): () => void {
  let written = sizeOf(file) ?? 0;
  let reopening = false;
  const onReady = () => {
    reopening = false;
  };
  const onWrite = (bytes: number) => {
    written += bytes;
    if (written < maxBytes || reopening) return;
    try {
      rotate(file, keep);
    } catch {
      // The file was moved or removed under us: reopening recreates it.
    }
    written = 0;
    reopening = true;
    destination.reopen();
  };
  destination.on('write', onWrite).on('ready', onReady);
  return () => {
    destination.off('write', onWrite).off('ready', onReady);
  };
}

function rotate(file: string, keep: number): void {
  rmSync(`${file}.${keep}`, { force: true });
  for (let n = keep - 1; n >= 1; n--) {
    try {
      renameSync(`${file}.${n}`, `${file}.${n + 1}`);
    } catch {
      // that generation does not exist yet
    }
  }
  renameSync(file, `${file}.1`);
}

function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}
