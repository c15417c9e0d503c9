/**
 * Where a value sits in a JSON line, found without parsing the line: the structural bytes of its
 * first few levels, read piece by piece as the line arrives (so no turn of the event loop pays for
 * a whole big line), then a walk over those few bytes for a path such as `payload.input`.
 *
 *   piece ─▶ ShallowScanner.push: strings skipped, depth counted; at depth ≤ maxDepth it notes each
 *            `{ [ } ] " : ,` (offset, byte, depth) — a handful for an envelope, whatever the value
 *   line done ─▶ valueSpan(line, scan, path): the member `path[0]` of the top object, its member
 *            `path[1]`, …: the bytes of the last one's value, or undefined (then the line is parsed
 *            whole, which also says what is wrong with it)
 *
 * The walk trusts nothing: a key must be a string followed by `:`, the line must end at depth 0
 * outside a string, each key on the path must appear once. The value's own bytes are not checked
 * here beyond being balanced UTF-8: whoever parses it (the pod, the client) answers what is wrong.
 */

import { type LineBytes, Utf8Check } from './line-bytes.js';

export const QUOTE = 0x22;
const BACKSLASH = 0x5c;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
export const COLON = 0x3a;
export const COMMA = 0x2c;

/** The bytes the scan stops at outside strings: `" { } [ ] : ,`. */
const STRUCTURAL = new Uint8Array(256);
for (const byte of [QUOTE, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY, COLON, COMMA])
  STRUCTURAL[byte] = 1;

/** Structural bytes noted before the scan gives up (a line whose top levels are long arrays). */
const MAX_MARKS = 4096;

export class ShallowScanner {
  readonly #maxDepth: number;
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Bytes scanned so far: the offset in the line of the next byte pushed. */
  #offset = 0;
  /** The noted bytes: offset in the line, the byte, the depth (containers open around it). */
  readonly offsets: number[] = [];
  readonly bytes: number[] = [];
  readonly depths: number[] = [];
  /** Too many marks, or a close with nothing open: no span will be found. */
  failed = false;
  readonly #utf8 = new Utf8Check();

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth;
  }

  /** True when the line scanned so far ended outside any string and container, all of it UTF-8. */
  get balanced(): boolean {
    return !this.failed && this.#depth === 0 && !this.#inString && this.#utf8.valid;
  }

  push(piece: Buffer): void {
    if (this.failed) return;
    this.#utf8.push(piece);
    const max = this.#maxDepth;
    const base = this.#offset;
    const length = piece.length;
    this.#offset = base + length;
    let depth = this.#depth;
    let i = 0;
    if (this.#inString) {
      i = this.#closingQuote(piece, 0);
      if (i < 0) return;
      this.#inString = false;
      if (depth <= max) this.#mark(base + i, QUOTE, depth);
      i += 1;
    }
    for (; i < length; i++) {
      const byte = piece[i] as number;
      if (STRUCTURAL[byte] === 0) continue;
      if (byte === QUOTE) {
        if (depth <= max) this.#mark(base + i, QUOTE, depth);
        const close = this.#closingQuote(piece, i + 1);
        if (close < 0) {
          this.#inString = true;
          break;
        }
        if (depth <= max) this.#mark(base + close, QUOTE, depth);
        i = close;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        if (depth <= max) this.#mark(base + i, byte, depth);
        depth += 1;
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        depth -= 1;
        if (depth < 0) {
          this.failed = true;
          return;
        }
        if (depth <= max) this.#mark(base + i, byte, depth);
      } else if (depth <= max) this.#mark(base + i, byte, depth); // `:` or `,`
    }
    this.#depth = depth;
  }

  /** The index of the quote that ends the string under way, from `from`; -1 when the piece ends first. */
  #closingQuote(piece: Buffer, from: number): number {
    let escaped = this.#escaped;
    for (let i = from; i < piece.length; i++) {
      const byte = piece[i] as number;
      if (escaped) escaped = false;
      else if (byte === BACKSLASH) escaped = true;
      else if (byte === QUOTE) {
        this.#escaped = false;
        return i;
      }
    }
    this.#escaped = escaped;
    return -1;
  }

  #mark(offset: number, byte: number, depth: number): void {
    if (this.offsets.length >= MAX_MARKS) {
      this.failed = true;
      return;
    }
    this.offsets.push(offset);
    this.bytes.push(byte);
    this.depths.push(depth);
  }
}

/** Bytes `[start, end)` of a line. */
export interface Span {
  start: number;
  end: number;
}

interface Member {
  key: string;
  value: Span;
  /** The mark of the value's first byte when it is a container or a string. */
  mark: number;
}

/**
 * The bytes of the value at `path` (member names from the top object down) in `line`, which `scan`
 * has read whole; undefined when the line does not have exactly one such member on each level.
 */
export function valueSpan(line: LineBytes, scan: ShallowScanner, path: readonly string[]): Span | undefined {
  if (!scan.balanced || path.length === 0) return undefined;
  if (scan.bytes[0] !== OPEN_OBJECT || scan.depths[0] !== 0 || skipSpace(line, 0) !== scan.offsets[0]) {
    return undefined;
  }
  let objectMark = 0;
  let found: Member | undefined;
  for (const name of path) {
    if (scan.bytes[objectMark] !== OPEN_OBJECT) return undefined;
    const object = membersOf(line, scan, objectMark);
    if (object === undefined) return undefined;
    // the top object's `}` ends the line
    const { close, members } = object;
    if (
      objectMark === 0 &&
      (close !== scan.bytes.length - 1 ||
        skipSpace(line, (scan.offsets[close] as number) + 1) !== line.length)
    ) {
      return undefined;
    }
    const named = members.filter((member) => member.key === name);
    if (named.length !== 1) return undefined;
    found = named[0] as Member;
    objectMark = found.mark;
  }
  return found?.value;
}

/**
 * The members of the object whose `{` is mark `open`, and the mark of its `}`; undefined if they
 * are not well formed.
 */
function membersOf(
  line: LineBytes,
  scan: ShallowScanner,
  open: number,
): { members: Member[]; close: number } | undefined {
  const { offsets, bytes, depths } = scan;
  const level = (depths[open] as number) + 1;
  const members: Member[] = [];
  let at = open + 1;
  if (bytes[at] === CLOSE_OBJECT && depths[at] === level - 1) return { members, close: at };
  for (;;) {
    // "key" :
    if (bytes[at] !== QUOTE || bytes[at + 1] !== QUOTE || bytes[at + 2] !== COLON) return undefined;
    if (depths[at] !== level || depths[at + 2] !== level) return undefined;
    const key = keyText(line, offsets[at] as number, (offsets[at + 1] as number) + 1);
    if (key === undefined) return undefined;
    const colon = offsets[at + 2] as number;
    const start = skipSpace(line, colon + 1);
    // the value runs to the next `,` of this level, or to the object's `}`
    let end = at + 3;
    while (end < bytes.length) {
      const byte = bytes[end];
      const depth = depths[end];
      if ((byte === COMMA && depth === level) || (byte === CLOSE_OBJECT && depth === level - 1)) break;
      if (depth === level - 1) return undefined; // a `]` or a mark outside this object
      end += 1;
    }
    if (end >= bytes.length) return undefined;
    const stop = trimEnd(line, start, offsets[end] as number);
    if (!isOneValue(line, scan, at + 3, end, { start, end: stop })) return undefined;
    members.push({ key, value: { start, end: stop }, mark: offsets[at + 3] === start ? at + 3 : -1 });
    if (bytes[end] === CLOSE_OBJECT) return { members, close: end };
    at = end + 1;
  }
}

/**
 * The marks `[first, last)` of a member's value, at its own level, are those of one value: none
 * (a number, `true`…), the two quotes of a string, or the open and close of one container, each at
 * the span's ends.
 */
function isOneValue(line: LineBytes, scan: ShallowScanner, first: number, last: number, span: Span): boolean {
  if (span.end <= span.start) return false;
  const level = scan.depths[first - 1] as number;
  const own: number[] = [];
  for (let mark = first; mark < last; mark++) {
    if (scan.depths[mark] !== level) continue;
    if (own.length === 2) return false;
    own.push(mark);
  }
  const head = line.at(span.start) as number;
  if (own.length === 0) {
    // a number or a literal: one token, no space inside
    if (head === QUOTE || head === OPEN_OBJECT || head === OPEN_ARRAY) return false;
    if (span.end - span.start > 64) return true; // only digits and letters can be in it: the pod judges
    for (let at = span.start; at < span.end; at++) if (isSpace(line.at(at))) return false;
    return true;
  }
  if (own.length !== 2) return false;
  const [open, close] = own as [number, number];
  if (scan.offsets[open] !== span.start || (scan.offsets[close] as number) + 1 !== span.end) return false;
  const pair = `${String.fromCharCode(scan.bytes[open] as number)}${String.fromCharCode(scan.bytes[close] as number)}`;
  return pair === '""' || pair === '{}' || pair === '[]';
}

export function keyText(line: LineBytes, start: number, end: number): string | undefined {
  if (end - start > 1024) return undefined;
  try {
    const key: unknown = JSON.parse(line.slice(start, end).toString('utf8'));
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

export function skipSpace(line: LineBytes, at: number): number {
  while (at < line.length && isSpace(line.at(at))) at += 1;
  return at;
}

export function trimEnd(line: LineBytes, start: number, end: number): number {
  while (end > start && isSpace(line.at(end - 1))) end -= 1;
  return end;
}
