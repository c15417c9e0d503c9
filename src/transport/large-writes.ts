/**
 * When a big write is done with. A 100 MB payload relayed to a pod is garbage once written, but V8
 * frees such buffers only after ~64 MB more external memory: the answer to it was read into memory
 * beside it, and a 100 MB round trip raised the daemon's RSS by 94–124 MB. A GC right after the
 * write fixes that, but not one run when the write's callback comes (nor in the turn after): Node
 * still holds the write's chunks then (such a GC freed none of the 100 MB). So a write of
 * {@link LARGE_WRITE_BYTES} or more is followed by an empty one, and when that is written, the
 * listener (the daemon's GC, memory-reclaim.ts) hears of the big one: it is garbage by then
 * (test/large-writes.test.ts).
 */
import type { Writable } from 'node:stream';

/** Bytes of one message (its line and frames) from which the listener hears of its write. */
export const LARGE_WRITE_BYTES = 1024 * 1024;

type Listener = (bytes: number) => void;

const EMPTY = new Uint8Array(0);
let listener: Listener | undefined;

/** Tells `next` of every large write once it is written (one listener: the daemon's); returns the stopper. */
export function onLargeWrites(next: Listener): () => void {
  listener = next;
  return () => {
    if (listener === next) listener = undefined;
  };
}

/** After a write of `bytes` (uncorked already): the empty write whose callback tells the listener. */
export function tellWhenWritten(output: Writable, bytes: number): void {
  if (listener === undefined || bytes < LARGE_WRITE_BYTES || !output.writable) return;
  output.write(EMPTY, (error) => {
    if (!error) listener?.(bytes);
  });
}
