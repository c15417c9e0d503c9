/**
 * Bytes in, messages out: lines from the linear framer, decoded, and for a line announcing frames
 * (frames.ts) the raw bytes that follow it, put where its `{"$bytes": i}` stand.
 *
 *   chunk ─▶ LineFramer ─line─▶ decodeLine ─▶ $frames? ─no──▶ message(value)
 *                 ▲                              └─yes─▶ framer.expect(total) ─bytes─▶ attachFrames ─▶ message(value)
 *                 └─ too long, bad UTF-8 / JSON / number, bad `$frames` ─────────────────────────────▶ invalid(…)
 *
 * With a `rawPath`, a long line's value at that path is kept as its bytes (raw-json.ts): only the
 * envelope around it is decoded, with the same rules.
 */
import { attachFrames, takeFrameHeader } from './frames.js';
import { type Decoded, decodeLine } from './json-values.js';
import { framesTail, lastMemberSpan } from './last-member.js';
import type { LineBytes } from './line-bytes.js';
import { HEAD_BYTES, LineFramer } from './line-framer.js';
import { RAW_MIN_BYTES, RawJson } from './raw-json.js';
import { ShallowScanner, type Span, valueSpan } from './shallow-scan.js';

const NULL = Buffer.from('null');

/**
 * A short line that says bytes follow it (a non-empty `,"$frames":[…]}` at its end, where writers
 * put it): its value at `rawPath` is kept as bytes, so the frames are relayed without a copy.
 */
function carriesBytes(line: LineBytes): boolean {
  return (framesTail(line)?.lengths.length ?? 0) > 0;
}

export type InvalidReason = 'json' | 'too-long' | 'utf8' | 'unrepresentable' | 'frames';

export interface MessageSink {
  message(value: unknown): void;
  /** A line that was dropped: why, its text (or head), its size in bytes, and what is wrong. */
  invalid(reason: InvalidReason, text: string, length: number, detail: string): void;
}

/** Messages that came with a `$frames` header (even `[]`): their sender reads frames. */
const framed = new WeakSet<object>();

/** True when `message` (as emitted by a reader) announced frames: its answer may carry them. */
export function readsFrames(message: unknown): boolean {
  return typeof message === 'object' && message !== null && framed.has(message);
}

export class MessageReader {
  readonly #framer: LineFramer;
  readonly #maxLineLength: number;
  readonly #maxFrameBytes: number;
  readonly #sink: MessageSink;
  readonly #rawPath: readonly string[] | undefined;
  /** The peer writes the raw member last: it is found from the line's head and tail, not scanned. */
  readonly #rawLast: boolean;
  /** A message whose frames are being read, and their lengths. */
  #awaiting: { value: object; lengths: number[] } | null = null;

  /**
   * `raw.path`: in a line of RAW_MIN_BYTES or more, the value at this path (e.g. `payload.input`) is
   * not parsed but kept as its bytes, a {@link RawJson} (raw-json.ts). `raw.last`: the peer writes
   * it as its top object's last member (a one-name path), so the line need not be scanned.
   */
  constructor(
    maxLineLength: number,
    maxFrameBytes: number,
    sink: MessageSink,
    raw?: { path: readonly string[]; last?: boolean },
  ) {
    this.#maxLineLength = maxLineLength;
    this.#maxFrameBytes = maxFrameBytes;
    this.#sink = sink;
    this.#rawPath = raw?.path;
    this.#rawLast = raw?.last === true && raw.path.length === 1;
    this.#framer = new LineFramer(
      maxLineLength,
      {
        onLine: (line, scan) => this.#onLine(line, scan),
        onTooLong: (head, size, tail) => this.#onTooLong(head, size, tail),
        onFrames: (data) => this.#onFrames(data),
      },
      raw && { scanDepth: this.#rawLast ? undefined : raw.path.length },
    );
  }

  push(chunk: Buffer): void {
    this.#framer.push(chunk);
  }

  /** End of input: a last unterminated line counts; a message whose frames were cut short is dropped. */
  end(): void {
    this.#awaiting = null;
    this.#framer.end();
  }

  #onLine(line: LineBytes, scan: ShallowScanner | undefined): void {
    const around =
      this.#rawPath !== undefined &&
      (scan !== undefined || (line.length >= RAW_MIN_BYTES ? this.#rawLast : carriesBytes(line)));
    const decoded = (around && this.#decodeAroundRaw(line, scan)) || decodeLine(line.whole());
    if (!decoded.ok) {
      const text = decoded.text ?? line.slice(0, HEAD_BYTES).toString('utf8');
      this.#sink.invalid(decoded.reason, text, line.length, decoded.detail);
      this.#skipAnnounced(line);
      return;
    }
    const header = takeFrameHeader(decoded.value);
    if (header.kind === 'none') this.#sink.message(decoded.value);
    else if (header.kind === 'bad') this.#badFrames(line, header.detail);
    else if (header.total > this.#maxFrameBytes) {
      this.#framer.expect(header.total, false); // skipped, so the next line is read where it starts
      this.#badFrames(
        line,
        `The frames of this message are ${header.total} bytes; the limit is ${this.#maxFrameBytes}.`,
      );
    } else {
      framed.add(decoded.value as object);
      this.#awaiting = { value: decoded.value as object, lengths: header.lengths };
      this.#framer.expect(header.total, true); // no bytes (`[]`, `[0]`): onFrames at once
    }
  }

  /**
   * The line parsed around its value at `rawPath` (a big one, or one with bytes), which stays bytes;
   * undefined when the value is not where `rawPath` says or the line is not valid UTF-8 (then it is
   * parsed whole, which says what is wrong).
   */
  #decodeAroundRaw(line: LineBytes, scan: ShallowScanner | undefined): Decoded | undefined {
    const path = this.#rawPath as readonly string[];
    let span: Span | undefined;
    // The runner's answer is not checked for UTF-8 here: it encodes strictly, and whoever parses
    // the value (the client, an in-process caller) checks it; a scanned line was checked as it came.
    if (this.#rawLast) span = lastMemberSpan(line, path[0] as string);
    else {
      const shallow = scan ?? new ShallowScanner(path.length); // a short line: scanned now, at once
      if (!scan) shallow.push(line.whole());
      span = valueSpan(line, shallow, path);
    }
    if (span === undefined || !this.#relayable(line, span)) return undefined;
    const envelope = Buffer.concat([line.slice(0, span.start), NULL, line.slice(span.end, line.length)]);
    const decoded = decodeLine(envelope);
    if (!decoded.ok) return decoded;
    let holder = decoded.value as Record<string, unknown>;
    for (const name of path.slice(0, -1)) holder = holder[name] as Record<string, unknown>;
    holder[path.at(-1) as string] = new RawJson(line.range(span.start, span.end));
    return decoded;
  }

  /**
   * A value worth relaying as bytes: not `null` (a call's default input stands for it), and, in a
   * short line (one with bytes), one the daemon can read itself, so what is wrong with it is said by
   * the daemon, as for any short line, before any frame reaches a pod.
   */
  #relayable(line: LineBytes, span: Span): boolean {
    const length = span.end - span.start;
    if (length === 4 && line.slice(span.start, span.end).toString('latin1') === 'null') return false;
    // a long line's value is not copied out here: 4 MiB of copies per call, each way, cost ~8 % of
    // a 4 MiB JSON round trip through the daemon (CPU profile, BENCHMARKS.md "Bytes")
    return line.length >= RAW_MIN_BYTES || decodeLine(line.slice(span.start, span.end)).ok;
  }

  #onFrames(data: Buffer[]): void {
    const awaiting = this.#awaiting;
    this.#awaiting = null;
    if (awaiting === null) return;
    const error = attachFrames(awaiting.value, awaiting.lengths, data);
    if (error === undefined) {
      this.#sink.message(awaiting.value);
      return;
    }
    const text = JSON.stringify(awaiting.value).slice(0, HEAD_BYTES);
    this.#sink.invalid('frames', text, text.length, error);
  }

  #badFrames(line: LineBytes, detail: string): void {
    this.#sink.invalid('frames', line.slice(0, HEAD_BYTES).toString('utf8'), line.length, detail);
  }

  #onTooLong(head: Buffer, size: number, tail: LineBytes): void {
    const detail = `The line is ${size} bytes long; the limit is ${this.#maxLineLength}.`;
    this.#sink.invalid('too-long', head.toString('utf8'), size, detail);
    this.#skipAnnounced(tail);
  }

  /** The bytes a line that cannot be read announces at its end are skipped, never read as lines. */
  #skipAnnounced(line: LineBytes): void {
    let total = 0;
    for (const length of framesTail(line)?.lengths ?? []) total += length;
    // more than a message may carry: not frames the peer could mean (its bytes are read as lines)
    if (total > 0 && total <= this.#maxFrameBytes) this.#framer.expect(total, false);
  }
}
