/**
 * Linear line framing: bytes in, whole lines out, each byte looked at once.
 *
 *   chunk ─indexOf('\n') from where the last scan stopped─▶ pieces of the current line (no copy)
 *     └─ newline ─▶ one concat of the pieces ─▶ onLine(bytes)       (CR before it is dropped;
 *                   with `raw`, a line of RAW_MIN_BYTES or more is handed on as its pieces)
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

import { LineBytes } from './line-bytes.js';
import { RAW_MIN_BYTES } from './raw-json.js';
import { ShallowScanner } from './shallow-scan.js';

/** Bytes of an overlong line kept for its preview and id. */
export const HEAD_BYTES = 4096;
/** Bytes at least of an overlong line's end kept, for the frames it announces there. */
const TAIL_BYTES = 64 * 1024;

export interface FramerSink {
  /**
   * One complete line, without its `\n` (nor a `\r` before it); never empty. With `scanDepth`, a
   * line of {@link RAW_MIN_BYTES} or more comes with its shallow scan, done as its pieces came.
   */
  onLine(line: LineBytes, scan?: ShallowScanner): void;
  /**
   * A line longer than the limit ended (or the input ended inside it): its first bytes, its size,
   * and its last {@link TAIL_BYTES} or more (where a writer says what frames follow it).
   */
  onTooLong(head: Buffer, size: number, tail: LineBytes): void;
  /** The `n` raw bytes asked for by {@link LineFramer.expect}, in pieces (none when discarded). */
  onFrames?(pieces: Buffer[]): void;
}

export class LineFramer {
  readonly #limit: number;
  readonly #sink: FramerSink;
  readonly #scanDepth: number | undefined;
  /** Long lines stay in pieces (a relay reads them so: raw-json.ts). */
  readonly #keepPieces: boolean;
  /** The shallow scan of the current line, once it is {@link RAW_MIN_BYTES} long. */
  #scan: ShallowScanner | undefined;
  #pieces: Buffer[] = [];
  #size = 0;
  /** Inside a line already over the limit: only its head and size are kept. */
  #skipping = false;
  #head: Buffer = Buffer.alloc(0);
  /** The last pieces of an overlong line, TAIL_BYTES or a little more. */
  #tail: Buffer[] = [];
  #tailSize = 0;
  /** Raw bytes still to read after a line that announced frames, and where they go (null: dropped). */
  #rawLeft = 0;
  #raw: Buffer[] | null = null;

  /**
   * `raw`: long lines come in pieces, not one buffer; with `scanDepth`, scanned to that depth as
   * they come (shallow-scan.ts).
   */
  constructor(limit: number, sink: FramerSink, raw?: { scanDepth?: number }) {
    this.#limit = limit;
    this.#sink = sink;
    this.#scanDepth = raw?.scanDepth;
    this.#keepPieces = raw !== undefined;
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
      this.#keepTail(piece);
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
      for (const earlier of this.#pieces) this.#keepTail(earlier);
      this.#pieces = [];
      this.#scan = undefined;
    }
  }

  #keepTail(piece: Buffer): void {
    this.#tail.push(piece);
    this.#tailSize += piece.length;
    while (this.#tailSize - (this.#tail[0] as Buffer).length >= TAIL_BYTES)
      this.#tailSize -= (this.#tail.shift() as Buffer).length;
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
      const tail = new LineBytes(this.#tail);
      this.#head = Buffer.alloc(0);
      this.#tail = [];
      this.#tailSize = 0;
      this.#sink.onTooLong(head, size, tail);
      return;
    }
    if (size === 0) return;
    const last = pieces.at(-1) as Buffer;
    if (last[last.length - 1] === 13) {
      pieces[pieces.length - 1] = last.subarray(0, last.length - 1);
      if (last.length === 1) pieces.pop();
    }
    const length = last[last.length - 1] === 13 ? size - 1 : size;
    if (length === 0) return;
    if (length > this.#limit) {
      this.#sink.onTooLong(keepHead(pieces), length, new LineBytes(pieces));
      return;
    }
    const whole = pieces.length === 1 || !this.#keepPieces || length < RAW_MIN_BYTES;
    const bytes =
      pieces.length === 1 ? (pieces[0] as Buffer) : whole ? Buffer.concat(pieces, length) : undefined;
    this.#sink.onLine(bytes ? LineBytes.of(bytes) : new LineBytes(pieces), scan);
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
