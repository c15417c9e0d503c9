/**
 * A member its writer puts last, found without scanning the line: the runner writes
 * `{"id":…,"success":true,"result":…}` (then `,"$frames":[…]` when it has bytes), so a big
 * `result` runs from after its key, found in the line's head, to the line's last `}`.
 */
import type { LineBytes } from './line-bytes.js';
import {
  CLOSE_OBJECT,
  COLON,
  COMMA,
  keyText,
  OPEN_OBJECT,
  QUOTE,
  ShallowScanner,
  type Span,
  skipSpace,
  trimEnd,
} from './shallow-scan.js';

/** Bytes of a line's head walked for {@link lastMemberSpan}. */
const HEAD_WALK_BYTES = 4096;
const FRAMES_OPENING = Buffer.from(',"$frames":[');
const CLOSE_ARRAY = 0x5d;

/** Bytes read from the end: a LineBytes, or a Buffer. */
interface Tail {
  readonly length: number;
  at(index: number): number | undefined;
}

/**
 * What a line with bytes ends with after its last member (frames.ts): `,"$frames":[…]}`, where
 * every writer of the protocol puts it. Walked back from the line's end, however long the list:
 * where it starts and the lengths it lists; undefined when the line does not end so.
 */
export function framesTail(line: Tail): { start: number; lengths: number[] } | undefined {
  let at = line.length - 1;
  while (at >= 0 && isBlank(line.at(at))) at -= 1;
  if (line.at(at) !== CLOSE_OBJECT || line.at(at - 1) !== CLOSE_ARRAY) return undefined;
  const listEnd = at - 1;
  at -= 2;
  while (at >= 0 && isListByte(line.at(at))) at -= 1;
  const start = at - FRAMES_OPENING.length + 1;
  if (start < 0) return undefined;
  for (let i = 0; i < FRAMES_OPENING.length; i++)
    if (line.at(start + i) !== FRAMES_OPENING[i]) return undefined;
  let list = '';
  for (let i = at + 1; i < listEnd; i++) list += String.fromCharCode(line.at(i) as number);
  const lengths = list === '' ? [] : list.split(',').map(Number);
  return lengths.every((length) => Number.isSafeInteger(length)) ? { start, lengths } : undefined;
}

function isBlank(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function isListByte(byte: number | undefined): boolean {
  return byte === COMMA || (byte !== undefined && byte >= 0x30 && byte <= 0x39);
}

/**
 * The bytes of member `name` of the top object of a line whose writer puts that member last (the
 * runner writes `{"id":…,"success":true,"result":…}`, then `,"$frames":[…]` when it has bytes): the
 * members before it are walked in the line's head, the value runs to the line's last `}`, no scan
 * of the value at all. Undefined when the head does not show the member.
 */
export function lastMemberSpan(line: LineBytes, name: string): Span | undefined {
  const head = new ShallowScanner(1);
  head.push(line.slice(0, Math.min(line.length, HEAD_WALK_BYTES)));
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
function toLastClose(line: LineBytes, start: number): Span | undefined {
  const frames = framesTail(line);
  let end: number;
  if (frames) end = frames.start;
  else {
    end = trimEnd(line, start, line.length);
    if (line.at(end - 1) !== CLOSE_OBJECT) return undefined;
    end -= 1;
  }
  end = trimEnd(line, start, end);
  return end > start ? { start, end } : undefined;
}
