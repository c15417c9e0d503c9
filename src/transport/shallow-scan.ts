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
 * here beyond being balanced: whoever parses it (the pod, the client) answers what is wrong.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

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

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth;
  }

  /** True when the line scanned so far ended outside any string and container. */
  get balanced(): boolean {
    return !this.failed && this.#depth === 0 && !this.#inString;
  }

  push(piece: Uint8Array): void {
    if (this.failed) return;
    const max = this.#maxDepth;
    const base = this.#offset;
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#escaped;
    for (let i = 0; i < piece.length; i++) {
      const byte = piece[i] as number;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) {
          inString = false;
          if (depth <= max) this.#mark(base + i, byte, depth);
        }
        continue;
      }
      switch (byte) {
        case QUOTE:
          inString = true;
          if (depth <= max) this.#mark(base + i, byte, depth);
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          if (depth <= max) this.#mark(base + i, byte, depth);
          depth += 1;
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          depth -= 1;
          if (depth < 0) {
            this.failed = true;
            return;
          }
          if (depth <= max) this.#mark(base + i, byte, depth);
          break;
        case COLON:
        case COMMA:
          if (depth <= max) this.#mark(base + i, byte, depth);
          break;
      }
    }
    this.#offset = base + piece.length;
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
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
export function valueSpan(line: Uint8Array, scan: ShallowScanner, path: readonly string[]): Span | undefined {
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
  line: Uint8Array,
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
function isOneValue(
  line: Uint8Array,
  scan: ShallowScanner,
  first: number,
  last: number,
  span: Span,
): boolean {
  if (span.end <= span.start) return false;
  const level = scan.depths[first - 1] as number;
  const own: number[] = [];
  for (let mark = first; mark < last; mark++) {
    if (scan.depths[mark] !== level) continue;
    if (own.length === 2) return false;
    own.push(mark);
  }
  const head = line[span.start] as number;
  if (own.length === 0) {
    // a number or a literal: one token, no space inside
    if (head === QUOTE || head === OPEN_OBJECT || head === OPEN_ARRAY) return false;
    for (let at = span.start; at < span.end; at++) if (isSpace(line[at])) return false;
    return true;
  }
  if (own.length !== 2) return false;
  const [open, close] = own as [number, number];
  if (scan.offsets[open] !== span.start || (scan.offsets[close] as number) + 1 !== span.end) return false;
  const pair = `${String.fromCharCode(scan.bytes[open] as number)}${String.fromCharCode(scan.bytes[close] as number)}`;
  return pair === '""' || pair === '{}' || pair === '[]';
}

function keyText(line: Uint8Array, start: number, end: number): string | undefined {
  if (end - start > 1024) return undefined;
  try {
    const key: unknown = JSON.parse(
      Buffer.from(line.buffer, line.byteOffset + start, end - start).toString('utf8'),
    );
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function skipSpace(line: Uint8Array, at: number): number {
  while (at < line.length && isSpace(line[at])) at += 1;
  return at;
}

function trimEnd(line: Uint8Array, start: number, end: number): number {
  while (end > start && isSpace(line[end - 1])) end -= 1;
  return end;
}

/** Bytes of a line's head walked for {@link lastMemberSpan}. */
const HEAD_WALK_BYTES = 4096;
/** What a line with bytes ends with after its last member (frames.ts): `,"$frames":[…]}`. */
const FRAMES_TAIL = /,"\$frames":\[[\d,]*\]\}\s*$/;

/**
 * The bytes of member `name` of the top object of a line whose writer puts that member last (the
 * runner writes `{"id":…,"success":true,"result":…}`, then `,"$frames":[…]` when it has bytes): the
 * members before it are walked in the line's head, the value runs to the line's last `}`, no scan
 * of the value at all. Undefined when the head does not show the member.
 */
export function lastMemberSpan(line: Uint8Array, name: string): Span | undefined {
  const headLength = Math.min(line.length, HEAD_WALK_BYTES);
  const head = new ShallowScanner(1);
  head.push(line.subarray(0, headLength));
  const { offsets, bytes, depths } = head;
  if (bytes[0] !== OPEN_OBJECT || offsets[0] !== skipSpace(line, 0)) return undefined;
  let at = 1;
  while (at + 2 < bytes.length) {
    if (bytes[at] !== QUOTE || bytes[at + 1] !== QUOTE || bytes[at + 2] !== COLON) return undefined;
    if (depths[at] !== 1 || depths[at + 2] !== 1) return undefined;
    const key = keyText(line, offsets[at] as number, (offsets[at + 1] as number) + 1);
    if (key === name) return toLastClose(line, skipSpace(line, (offsets[at + 2] as number) + 1));
    at += 3;
    while (at < bytes.length && !(bytes[at] === COMMA && depths[at] === 1)) at += 1;
    at += 1;
  }
  return undefined;
}

/** From `start` to the line's closing `}` (or to its `$frames` tail). */
function toLastClose(line: Uint8Array, start: number): Span | undefined {
  const tailFrom = Math.max(start, line.length - 1024);
  const tail = Buffer.from(line.buffer, line.byteOffset + tailFrom, line.length - tailFrom).toString(
    'latin1',
  );
  const frames = FRAMES_TAIL.exec(tail);
  let end: number;
  if (frames) end = tailFrom + frames.index;
  else {
    end = trimEnd(line, start, line.length);
    if (line[end - 1] !== CLOSE_OBJECT) return undefined;
    end -= 1;
  }
  end = trimEnd(line, start, end);
  return end > start ? { start, end } : undefined;
}
