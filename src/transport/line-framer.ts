/**
 * Linear line framing: bytes in, whole lines out, each byte looked at once.
 *
 *   chunk ─indexOf('\n') from where the last scan stopped─▶ pieces of the current line (no copy)
 *     └─ newline ─▶ one concat of the pieces ─▶ onLine(bytes)       (CR before it is dropped)
 *     └─ over the limit ─▶ pieces dropped, the head kept (for a preview and the id), bytes counted
 *                          ─▶ at its newline: onTooLong(head, size)
 *
 *   with `scanDepth`, a line past RAW_MIN_BYTES is also scanned piece by piece (shallow-scan.ts), so
 *   the value it carries can be relayed without parsing it (raw-json.ts)
 *
 *   after a line that announces frames (see frames.ts), sink.onLine calls expect(n): the next n
 *   bytes, as the pieces of the chunks they came in (no copy) ─▶ onFrames(pieces); then lines again
 *
 * split2 kept the partial line as a string and re-split all of it on every chunk: a 64 MiB line
 * in 64 KiB chunks cost ~30 s (quadratic). Here the work per chunk is its own length.
 */

import { RAW_MIN_BYTES } from './raw-json.js';
import { ShallowScanner } from './shallow-scan.js';

/** Bytes of an overlong line kept for its preview and id. */
export const HEAD_BYTES = 4096;

export interface FramerSink {
  /**
   * One complete line, without its `\n` (nor a `\r` before it); never empty. With `scanDepth`, a
   * line of {@link RAW_MIN_BYTES} or more comes with its shallow scan, done as its pieces came.
   */
  onLine(line: Buffer, scan?: ShallowScanner): void;
  /** A line longer than the limit ended (or the input ended inside it): its first bytes and size. */
  onTooLong(head: Buffer, size: number): void;
  /** The `n` raw bytes asked for by {@link LineFramer.expect}, in pieces (none when discarded). */
  onFrames?(pieces: Buffer[]): void;
}

export class LineFramer {
  readonly #limit: number;
  readonly #sink: FramerSink;
  readonly #scanDepth: number | undefined;
  /** The shallow scan of the current line, once it is {@link RAW_MIN_BYTES} long. */
  #scan: ShallowScanner | undefined;
  #pieces: Buffer[] = [];
  #size = 0;
  /** Inside a line already over the limit: only its head and size are kept. */
  #skipping = false;
  #head: Buffer = Buffer.alloc(0);
  /** Raw bytes still to read after a line that announced frames, and where they go (null: dropped). */
  #rawLeft = 0;
  #raw: Buffer[] | null = null;

  /** `scanDepth`: scan long lines to that depth as they come (shallow-scan.ts). */
  constructor(limit: number, sink: FramerSink, scanDepth?: number) {
    this.#limit = limit;
    this.#sink = sink;
    this.#scanDepth = scanDepth;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      if (this.#rawLeft > 0) {
        start = this.#takeRaw(chunk, start);
        continue;
      }
      const newline = chunk.indexOf(10, start);
      if (newline === -1) break;
      this.#append(chunk, start, newline);
      start = newline + 1;
      this.#endLine();
    }
    if (start < chunk.length) this.#append(chunk, start, chunk.length);
  }

  /**
   * Called from `onLine`: the next `size` bytes are raw, not lines; they come to `onFrames` as
   * slices of the chunks that carried them, or are skipped when `keep` is false (frames refused,
   * the stream kept in step).
   */
  expect(size: number, keep: boolean): void {
    this.#raw = keep ? [] : null;
    this.#rawLeft = size;
    if (size === 0) this.#sink.onFrames?.([]);
  }

  /** End of input: an unterminated last line still counts; frames cut short are dropped. */
  end(): void {
    if (this.#rawLeft > 0) {
      this.#raw = null;
      this.#rawLeft = 0;
      return;
    }
    if (this.#size > 0) this.#endLine();
  }

  #takeRaw(chunk: Buffer, start: number): number {
    const take = Math.min(this.#rawLeft, chunk.length - start);
    if (this.#raw && take > 0)
      this.#raw.push(start === 0 && take === chunk.length ? chunk : chunk.subarray(start, start + take));
    this.#rawLeft -= take;
    if (this.#rawLeft === 0) {
      const data = this.#raw ?? [];
      this.#raw = null;
      this.#sink.onFrames?.(data);
    }
    return start + take;
  }

  #append(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    const piece = start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
    this.#size += piece.length;
    if (this.#skipping) {
      if (this.#head.length < HEAD_BYTES) this.#head = keepHead([this.#head, piece]);
      return;
    }
    this.#pieces.push(piece);
    if (this.#scan) this.#scan.push(piece);
    else if (this.#scanDepth !== undefined && this.#size >= RAW_MIN_BYTES) {
      this.#scan = new ShallowScanner(this.#scanDepth);
      for (const earlier of this.#pieces) this.#scan.push(earlier);
    }
    // One byte of slack: a `\r` that ends the line does not count.
    if (this.#size > this.#limit + 1) {
      this.#skipping = true;
      this.#head = keepHead(this.#pieces);
      this.#pieces = [];
      this.#scan = undefined;
    }
  }

  #endLine(): void {
    const size = this.#size;
    const pieces = this.#pieces;
    const skipped = this.#skipping;
    const scan = this.#scan;
    this.#scan = undefined;
    this.#size = 0;
    this.#pieces = [];
    this.#skipping = false;
    if (skipped) {
      const head = this.#head;
      this.#head = Buffer.alloc(0);
      this.#sink.onTooLong(head, size);
      return;
    }
    if (size === 0) return;
    let line = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, size);
    if (line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    if (line.length === 0) return;
    if (line.length > this.#limit) this.#sink.onTooLong(line.subarray(0, HEAD_BYTES), line.length);
    else this.#sink.onLine(line, scan);
  }
}

function keepHead(pieces: Buffer[]): Buffer {
  const head: Buffer[] = [];
  let size = 0;
  for (const piece of pieces) {
    if (size >= HEAD_BYTES) break;
    const part = piece.subarray(0, HEAD_BYTES - size);
    head.push(part);
    size += part.length;
  }
  return Buffer.concat(head, size);
}
