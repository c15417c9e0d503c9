/**
 * Binary frames: bytes travel beside a JSON line instead of as base64 inside it.
 *
 *   {"id":"1","action":"call","payload":{"input":{"audio":{"$bytes":0}}},"$frames":[1048576]}\n
 *   <1048576 raw bytes>
 *
 * A message that carries bytes lists the length of each frame in a top-level `$frames` array, and
 * stands `{"$bytes": i}` wherever frame `i` goes; the frames follow its newline, back to back. A
 * message without bytes is the plain JSON line it always was. A request that carries `$frames`
 * (even `[]`) says its sender reads frames, so its answer may carry them too; to a peer that did not
 * say so, bytes go as `{"$base64": "…"}` in plain JSON.
 *
 * This module knows the shape only; the framer reads the raw bytes (line-framer.ts).
 */
import { Buffer } from 'node:buffer';
import { PodkeeperError } from '../errors.js';
import { decodeLine } from './json-values.js';
import { RawJson } from './raw-json.js';

const FRAMES_KEY = '$frames';
const BYTES_KEY = '$bytes';
/** Stands in the JSON text for a RawJson until its bytes are spliced in (unique to this process). */
const RAW_MARK = `\u0000raw-json:${Math.random().toString(36).slice(2)}:`;

/** A JSON line without its newline: one string, or pieces with raw JSON bytes spliced in. */
export type LineText = string | (string | Uint8Array)[];

/** One frame's bytes: a buffer, or the pieces of the chunks it arrived in (relayed without a copy). */
export type Frame = Uint8Array | readonly Uint8Array[];

/** A message ready to write: its JSON line (without newline) and the frames that follow it. */
export interface EncodedMessage {
  line: LineText;
  frames: Frame[];
}

/** A frame's size in bytes. */
export function frameLength(frame: Frame): number {
  if (frame instanceof Uint8Array) return frame.byteLength;
  let length = 0;
  for (const piece of frame) length += piece.byteLength;
  return length;
}

/**
 * `value` with each Uint8Array replaced by `swap(it)`: objects and arrays on the way to one are
 * copied, the rest is shared (a value without bytes comes back as is). Done before JSON.stringify,
 * since Buffer#toJSON would first turn every byte into a number of an array.
 */
function replaceBytes(
  value: unknown,
  swap: (bytes: Uint8Array) => unknown,
  raw: (raw: RawJson) => unknown = (found) => replaceBytes(rawValue(found), swap),
): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof RawJson) return raw(value);
  if (ArrayBuffer.isView(value))
    return swap(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== 'object' || item === null) continue;
      const replaced = replaceBytes(item, swap, raw);
      if (replaced === item) continue;
      copy ??= value.slice();
      copy[i] = replaced;
    }
    return copy ?? value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value; // a Date...
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item !== 'object' || item === null) continue;
    const replaced = replaceBytes(item, swap, raw);
    if (replaced === item) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    copy[key] = replaced;
  }
  return copy ?? value;
}

const toBase64 = (bytes: Uint8Array) => ({
  $base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
});

/** `value` with its bytes as `{"$base64": …}`, for a peer (or a terminal) that reads JSON only. */
export function bytesAsBase64(value: unknown): unknown {
  return replaceBytes(value, toBase64);
}

/**
 * `message` as one JSON line plus frames. With `frames` false (a peer that does not read them),
 * bytes become `{"$base64": …}`; with `announce`, a message without bytes still says `$frames: []`.
 * Throws what JSON.stringify throws (too deep, a BigInt).
 */
export function encodeMessage(message: unknown, frames: boolean, announce = false): EncodedMessage {
  const out: Frame[] = [];
  const raws: RawJson[] = [];
  const swap = frames ? (bytes: Uint8Array) => ({ [BYTES_KEY]: out.push(bytes) - 1 }) : toBase64;
  const keepRaw = (raw: RawJson): unknown => {
    // Its `{"$bytes": i}` stay right only while its frames are the message's first ones.
    if (raw.frames.length > 0 && (!frames || out.length > 0))
      return replaceBytes(rawValue(raw), swap, keepRaw);
    out.push(...raw.frames);
    raws.push(raw);
    return `${RAW_MARK}${raws.length - 1}`;
  };
  let line = JSON.stringify(replaceBytes(message, swap, keepRaw));
  if (out.length > 0) {
    const lengths = out.map(frameLength).join(',');
    line = `${line.slice(0, -1)},"${FRAMES_KEY}":[${lengths}]}`;
  } else if (announce && line?.endsWith('}')) {
    line = `${line.slice(0, -1)},"${FRAMES_KEY}":[]}`; // a request that says its sender reads frames
  }
  return { line: raws.length === 0 ? line : spliceRaw(line, raws), frames: out };
}

/** The line cut where each RawJson's mark stands, its bytes put there. */
function spliceRaw(line: string, raws: RawJson[]): (string | Uint8Array)[] {
  const pieces: (string | Uint8Array)[] = [];
  let from = 0;
  raws.forEach((raw, index) => {
    const mark = JSON.stringify(`${RAW_MARK}${index}`);
    const at = line.indexOf(mark, from);
    pieces.push(line.slice(from, at), raw.text);
    from = at + mark.length;
  });
  pieces.push(line.slice(from));
  return pieces;
}

/**
 * The value a RawJson holds, parsed with the same rules as a line (json-values.ts), with its frames
 * where `{"$bytes": i}` stand. Throws `UNREPRESENTABLE`, or `BAD_REQUEST` for bad JSON or frames.
 */
function rawValue(raw: RawJson): unknown {
  const decoded = decodeLine(raw.text);
  if (!decoded.ok) {
    const code = decoded.reason === 'unrepresentable' ? 'UNREPRESENTABLE' : 'BAD_REQUEST';
    throw new PodkeeperError(
      code,
      `A JSON value of ${raw.text.length} bytes cannot be read: ${decoded.detail}`,
      {
        details: { reason: decoded.reason, size: raw.text.length },
      },
    );
  }
  if (raw.frames.length === 0) return decoded.value;
  const holder = { value: decoded.value };
  const problem = attach(holder, raw.frames);
  if (problem !== undefined)
    throw new PodkeeperError('BAD_REQUEST', problem, { details: { reason: 'frames' } });
  return holder.value;
}

/** `value`, or the value it holds when it is a RawJson. */
export function materialize(value: unknown): unknown {
  return value instanceof RawJson ? rawValue(value) : value;
}

/** What a decoded line's `$frames` announces: nothing, the frame lengths, or why it is malformed. */
export type FrameHeader =
  | { kind: 'none' }
  | { kind: 'frames'; lengths: number[]; total: number }
  | { kind: 'bad'; detail: string };

const NONE: FrameHeader = { kind: 'none' };

/** Reads and removes `$frames` from a decoded top-level object. */
export function takeFrameHeader(value: unknown): FrameHeader {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Object.hasOwn(value, FRAMES_KEY)
  ) {
    return NONE;
  }
  const record = value as Record<string, unknown>;
  const lengths = record[FRAMES_KEY];
  delete record[FRAMES_KEY];
  if (!Array.isArray(lengths)) return { kind: 'bad', detail: '`$frames` must be an array of byte lengths.' };
  let total = 0;
  for (const length of lengths) {
    if (!Number.isSafeInteger(length) || (length as number) < 0) {
      return {
        kind: 'bad',
        detail: `\`$frames\` must hold non-negative integers, got ${JSON.stringify(length)}.`,
      };
    }
    total += length as number;
  }
  return { kind: 'frames', lengths: lengths as number[], total };
}

/**
 * Puts the frames (slices of `data`, in order) where `{"$bytes": i}` stands in `value`. Returns a
 * detail when a reference names no frame.
 */
export function attachFrames(value: unknown, lengths: number[], pieces: Buffer[]): string | undefined {
  return attach(value, cutFrames(lengths, pieces));
}

const BYTES_REF = Buffer.from(`{"${BYTES_KEY}":`);

/**
 * Why a relayed value's `{"$bytes": i}` (as writers write it, without spaces) names no frame of
 * `count`; the pod would refuse it too, but the sender is told here, like for a parsed value.
 */
function unnamedFrame(text: Buffer, count: number): string | undefined {
  for (let at = text.indexOf(BYTES_REF); at >= 0; at = text.indexOf(BYTES_REF, at + 1)) {
    let end = at + BYTES_REF.length;
    let index = 0;
    while (end < text.length && (text[end] as number) >= 0x30 && (text[end] as number) <= 0x39) {
      index = index * 10 + (text[end] as number) - 0x30;
      end += 1;
    }
    if (end > at + BYTES_REF.length && text[end] === 0x7d && index >= count) {
      return `\`{"$bytes": ${index}}\` names no frame of ${count}.`;
    }
  }
  return undefined;
}

/** The bytes that followed a line (in the pieces they came in), cut into its frames' pieces. */
function cutFrames(lengths: number[], pieces: Buffer[]): Buffer[][] {
  const frames: Buffer[][] = [];
  let piece = 0;
  let at = 0; // in pieces[piece]
  for (const length of lengths) {
    const frame: Buffer[] = [];
    let left = length;
    while (left > 0) {
      const current = pieces[piece] as Buffer;
      const take = Math.min(left, current.length - at);
      frame.push(take === current.length ? current : current.subarray(at, at + take));
      left -= take;
      at += take;
      if (at === current.length) {
        piece += 1;
        at = 0;
      }
    }
    frames.push(frame);
  }
  return frames;
}

/**
 * {@link attachFrames} with the frames cut already. A RawJson is given them all, as pieces (its
 * text names them, and it is relayed as it is); a value gets each frame as one Buffer of its own.
 */
function attach(value: unknown, frames: Buffer[][]): string | undefined {
  let error: string | undefined;
  const visit = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    if (node instanceof RawJson) {
      node.frames = frames;
      error ??= unnamedFrame(node.text, frames.length);
      return node;
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) node[i] = visit(node[i]);
      return node;
    }
    const record = node as Record<string, unknown>;
    const index = record[BYTES_KEY];
    if (index !== undefined && Object.keys(record).length === 1) {
      const frame = Number.isSafeInteger(index) ? frames[index as number] : undefined;
      if (frame === undefined) {
        error ??= `\`{"$bytes": ${JSON.stringify(index)}}\` names no frame of ${frames.length}.`;
        return node;
      }
      return Buffer.concat(frame); // a copy: a value never holds on to the chunks it came in
    }
    for (const key in record) record[key] = visit(record[key]);
    return record;
  };
  visit(value);
  return error;
}
