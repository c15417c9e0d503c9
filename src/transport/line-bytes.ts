/**
 * A line's bytes as the pieces of the chunks they arrived in. A long line is never copied into one
 * buffer on its way through the daemon: 16 MiB of concat took 16–33 ms of one event-loop turn on
 * this machine (the pages of a fresh buffer are faulted in one by one), and doubled the memory the
 * line held. Whoever needs it whole (a parse) asks for {@link LineBytes.whole}.
 */
import { isUtf8 } from 'node:buffer';

export class LineBytes {
  readonly pieces: readonly Buffer[];
  readonly length: number;
  /** Where each piece starts in the line. */
  readonly #starts: number[];
  #whole: Buffer | undefined;

  constructor(pieces: readonly Buffer[]) {
    this.pieces = pieces;
    this.#starts = [];
    let length = 0;
    for (const piece of pieces) {
      this.#starts.push(length);
      length += piece.length;
    }
    this.length = length;
    if (pieces.length === 1) this.#whole = pieces[0];
  }

  static of(buffer: Buffer): LineBytes {
    return new LineBytes([buffer]);
  }

  /** All of it in one buffer (a copy when it came in more than one piece, made once). */
  whole(): Buffer {
    this.#whole ??= Buffer.concat(this.pieces as Buffer[], this.length);
    return this.#whole;
  }

  /** The byte at `index`, undefined past the end. */
  at(index: number): number | undefined {
    if (this.#whole) return this.#whole[index];
    if (index < 0 || index >= this.length) return undefined;
    const piece = this.#pieceAt(index);
    return (this.pieces[piece] as Buffer)[index - (this.#starts[piece] as number)];
  }

  /** Bytes `[start, end)` as slices of the pieces (no copy). */
  range(start: number, end: number): Buffer[] {
    if (end <= start) return [];
    const out: Buffer[] = [];
    for (let piece = this.#pieceAt(start); piece < this.pieces.length; piece++) {
      const from = this.#starts[piece] as number;
      if (from >= end) break;
      const bytes = this.pieces[piece] as Buffer;
      const cut = bytes.subarray(Math.max(0, start - from), Math.min(bytes.length, end - from));
      if (cut.length > 0) out.push(cut);
    }
    return out;
  }

  /** Bytes `[start, end)` in one buffer (a copy only when they span pieces). */
  slice(start: number, end: number): Buffer {
    const parts = this.range(start, end);
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** The index of the piece holding byte `index` (the last piece that starts at or before it). */
  #pieceAt(index: number): number {
    const starts = this.#starts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((starts[middle] as number) <= index) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

/**
 * UTF-8 checked piece by piece, a character cut between two pieces included: `push` each piece,
 * then `valid` says whether all of it was UTF-8 and ended on a whole character.
 */
export class Utf8Check {
  #carry: Buffer = Buffer.alloc(0);
  #ok = true;

  get valid(): boolean {
    return this.#ok && this.#carry.length === 0;
  }

  push(piece: Buffer): void {
    if (!this.#ok || piece.length === 0) return;
    let body = piece;
    if (this.#carry.length > 0) {
      const need = sequenceLength(this.#carry[0] as number) - this.#carry.length;
      const joined = Buffer.concat([this.#carry, piece.subarray(0, need)]);
      if (joined.length < need + this.#carry.length) {
        this.#carry = joined; // still cut: a piece shorter than the rest of the character
        return;
      }
      this.#carry = Buffer.alloc(0);
      if (!isUtf8(joined)) {
        this.#ok = false;
        return;
      }
      body = piece.subarray(need);
    }
    const cut = incompleteTail(body);
    if (!isUtf8(body.subarray(0, cut))) this.#ok = false;
    else if (cut < body.length) this.#carry = Buffer.from(body.subarray(cut));
  }
}

/** Bytes a character takes from its first byte (1 for what is not a lead byte: isUtf8 judges it). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc2) return 2;
  return 1;
}

/** Where a character that does not end in `bytes` starts (its length when none is cut). */
function incompleteTail(bytes: Buffer): number {
  for (let back = 1; back <= 3 && back <= bytes.length; back++) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    return sequenceLength(byte) > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
