/**
 * What a JSON line may carry, decided the same way on the pod channel and the control socket:
 *
 * - text must be valid UTF-8 (the decoder is fatal: no silent U+FFFD);
 * - a number must survive as a double exactly where exactness is promised: a literal whose value
 *   is not finite (`1e400`) is refused, and so is an integer literal that no double equals
 *   (`18446744073709551617` would come out as `18446744073709552000`; `2^64` or `1e20` written out
 *   in digits is exact and accepted); fractions and exponents round to the nearest double as JSON
 *   allows (`1e-400` is 0);
 * - a numeric top-level `id` must be written as an integer (`1.0` or `1e0` would be answered as `1`,
 *   an id its sender never used).
 *
 * The check costs one regular-expression scan per line; only a line that has a long integer digit
 * run, a 3-digit exponent, or a numeric id not plainly written first as an integer, is scanned a
 * second time, literal by literal.
 */
import { HEAD_BYTES } from './line-framer.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/**
 * What may be a number a double does not carry: an integer part of 16 digits or more (a fraction's
 * digits after the point do not count: `0.14285714285714285` is any float's usual form, and rounds as
 * JSON allows), or a 3-digit positive exponent.
 */
const SUSPECT = /(?<![\d.])\d{16}|[eE]\+?\d{3}/;
const INTEGER = /^-?\d+$/;
/** A line that opens with its top-level id written as an integer (`{"id":7,`). */
const LEADING_INTEGER_ID = /^\{\s*"id"\s*:\s*-?\d+\s*[,}]/;
const SHOWN = 40;

export type Decoded =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'utf8' | 'json' | 'unrepresentable'; detail: string; text?: string };

/** One line's bytes to a value, or why not (see the module doc for the rules). */
export function decodeLine(bytes: Uint8Array): Decoded {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, reason: 'utf8', detail: 'The line is not valid UTF-8.' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'json', detail: (error as Error).message, text };
  }
  const numericId = typeof (value as { id?: unknown } | null)?.id === 'number';
  if (!SUSPECT.test(text) && (!numericId || idWrittenAsInteger(text))) return { ok: true, value };
  const problem = findUnrepresentable(text, numericId);
  return problem === undefined
    ? { ok: true, value }
    : { ok: false, reason: 'unrepresentable', detail: problem, text };
}

/**
 * Whether a line whose top-level id is a number plainly wrote it as an integer: it opens with
 * `{"id":<digits>` and has no other `"id"` and no `\u` escape (a later `"id"` key, or one written
 * `"\u0069d"`, is the one JSON.parse keeps; `i` and `d` have no other escape). The usual
 * numeric-id request then costs no literal-by-literal scan (1.5 µs of the 2.4 µs an 83-byte
 * request took); any other line is scanned.
 */
function idWrittenAsInteger(text: string): boolean {
  if (!LEADING_INTEGER_ID.test(text) || text.includes('\\u')) return false;
  return text.indexOf('"id"', text.indexOf('"id"') + 4) === -1;
}

/**
 * The first number literal (outside strings) that a double cannot carry, or a numeric top-level id
 * not written as an integer. `text` is valid JSON. One pass, no recursion: a line nested 100,000
 * deep is checked like any other (JSON.parse with a reviver would overflow the stack).
 */
function findUnrepresentable(text: string, numericId: boolean): string | undefined {
  const length = text.length;
  let at = 0;
  while (at < length) {
    const code = text.charCodeAt(at);
    if (code === 0x22) {
      at = endOfString(text, at);
      continue;
    }
    if (code !== 0x2d && (code < 0x30 || code > 0x39)) {
      at += 1;
      continue;
    }
    let end = at + 1;
    while (end < length && isNumberChar(text.charCodeAt(end))) end += 1;
    const problem = numberProblem(text.slice(at, end));
    if (problem !== undefined) return problem;
    at = end;
  }
  if (!numericId) return undefined;
  // Only the head, as everywhere: an id written past HEAD_BYTES is not judged (its value is read).
  const idSource = scanHead(text.length > HEAD_BYTES ? text.slice(0, HEAD_BYTES) : text).idSource;
  if (idSource !== undefined && !INTEGER.test(idSource)) {
    return `The id ${shorten(idSource)} is not written as an integer (an id is a string or an integer).`;
  }
  return undefined;
}

function numberProblem(source: string): string | undefined {
  const value = Number(source);
  if (!Number.isFinite(value)) return `The number ${shorten(source)} is beyond the largest double.`;
  if (!Number.isSafeInteger(value) && INTEGER.test(source) && BigInt(source) !== BigInt(value)) {
    return `The integer ${shorten(source)} has no exact double (beyond ±2^53) and would be rounded.`;
  }
  return undefined;
}

/** Digits, sign, point and exponent: what a JSON number is made of. */
function isNumberChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2e ||
    code === 0x65 ||
    code === 0x45 ||
    code === 0x2b ||
    code === 0x2d
  );
}

/** The index just past the string that starts at `at` (a `"`). */
function endOfString(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x5c) i += 1;
    else if (code === 0x22) return i + 1;
  }
  return text.length;
}

function shorten(source: string): string {
  return source.length > SHOWN ? `${source.slice(0, SHOWN)}…` : source;
}

// ---------------------------------------------------------------- the head of a line

export interface HeadFields {
  /** The top-level `id`, when the head shows it complete: a string, or a number written as an integer. */
  id?: string | number;
  /** The top-level `type`, when the head shows it. */
  type?: string;
  /** The top-level `id` as written, when it is a number (`7`, `1.0`, `1e0`). */
  idSource?: string;
}

const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * The top-level `id` and `type` of a line that could not be read whole (too long, bad JSON, bad
 * UTF-8), so its request can still be answered. Looks only at `head` (bounded by the caller), walks
 * the top-level keys in order and stops at the first thing it does not understand.
 */
export function scanHead(head: string): HeadFields {
  const found: HeadFields = {};
  let at = skipSpace(head, 0);
  if (head[at] !== '{') return found;
  at += 1;
  while (at < head.length) {
    at = skipSpace(head, at);
    const key = readString(head, at);
    if (key === undefined) return found;
    at = skipSpace(head, key.end);
    if (head[at] !== ':') return found;
    at = skipSpace(head, at + 1);
    if (key.value === 'id' || key.value === 'type') {
      const token = readToken(head, at);
      if (token === undefined) return found;
      if (key.value === 'type' && typeof token.value === 'string') found.type = token.value;
      if (key.value === 'id') {
        found.id = token.value;
        found.idSource = token.source;
      }
    }
    at = skipValue(head, at);
    if (at < 0) return found;
    at = skipSpace(head, at);
    if (head[at] !== ',') return found;
    at += 1;
  }
  return found;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && ' \t\r\n'.includes(text[at] as string)) at += 1;
  return at;
}

function readString(text: string, at: number): { value: string; end: number } | undefined {
  if (text[at] !== '"') return undefined;
  for (let i = at + 1; i < text.length; i++) {
    const char = text[i];
    if (char === '\\') i += 1;
    else if (char === '"') {
      try {
        return { value: JSON.parse(text.slice(at, i + 1)) as string, end: i + 1 };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A string, or a number (its value only when it is a safe integer written as one, and its source). */
function readToken(text: string, at: number): { value?: string | number; source?: string } | undefined {
  if (text[at] === '"') {
    const string = readString(text, at);
    return string && { value: string.value };
  }
  NUMBER.lastIndex = at;
  const match = NUMBER.exec(text);
  if (!match) return undefined;
  const source = match[0];
  if (at + source.length >= text.length) return undefined; // the number may go on past the head
  const value = Number(source);
  return INTEGER.test(source) && Number.isSafeInteger(value) ? { value, source } : { source };
}

/** The index just past the value at `at`, or -1 if it does not end within `text`. */
function skipValue(text: string, at: number): number {
  const first = text[at];
  if (first === '"') return readString(text, at)?.end ?? -1;
  if (first !== '{' && first !== '[') {
    let i = at;
    while (i < text.length && !',}] \t\r\n'.includes(text[i] as string)) i += 1;
    return i < text.length ? i : -1;
  }
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      const end = readString(text, i)?.end;
      if (end === undefined) return -1;
      i = end - 1;
    } else if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
