/**
 * Linear line framing: bytes in, whole lines out, each byte looked at once.
 *
 *   chunk ─indexOf('\n') from where the last scan stopped─▶ pieces of the current line (no copy)
 *     └─ newline ─▶ one concat of the pieces ─▶ onLine(bytes)       (CR before it is dropped)
 *     └─ over the limit ─▶ pieces dropped, the head kept (for a preview and the id), bytes counted
 *                          ─▶ at its newline: onTooLong(head, size)
 *
 * split2 kept the partial line as a string and re-split all of it on every chunk: a 64 MiB line
 * in 64 KiB chunks cost ~30 s (quadratic). Here the work per chunk is its own length.
 */

/** Bytes of an overlong line kept for its preview and id. */
export const HEAD_BYTES = 4096;

export interface FramerSink {
  /** One complete line, without its `\n` (nor a `\r` before it); never empty. */
  onLine(line: Buffer): void;
  /** A line longer than the limit ended (or the input ended inside it): its first bytes and size. */
  onTooLong(head: Buffer, size: number): void;
}

export class LineFramer {
  readonly #limit: number;
  readonly #sink: FramerSink;
  #pieces: Buffer[] = [];
  #size = 0;
  /** Inside a line already over the limit: only its head and size are kept. */
  #skipping = false;
  #head: Buffer = Buffer.alloc(0);

  constructor(limit: number, sink: FramerSink) {
    this.#limit = limit;
    this.#sink = sink;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.#append(chunk, start, newline);
      start = newline + 1;
      this.#endLine();
    }
    this.#append(chunk, start, chunk.length);
  }

  /** End of input: an unterminated last line still counts. */
  end(): void {
    if (this.#size > 0) this.#endLine();
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
    // One byte of slack: a `\r` that ends the line does not count.
    if (this.#size > this.#limit + 1) {
      this.#skipping = true;
      this.#head = keepHead(this.#pieces);
      this.#pieces = [];
    }
  }

  #endLine(): void {
    const size = this.#size;
    const pieces = this.#pieces;
    const skipped = this.#skipping;
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
    else this.#sink.onLine(line);
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
