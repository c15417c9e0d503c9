/**
 * One JSON-lines channel over a pair of streams: framing, line limit, guarded parse, one writer.
 * It knows no schema; it serves the pods' stdio and the control socket alike.
 *
 *   input ──data──▶ MessageReader (linear framing, decode, frames) ──▶ onMessage
 *                      └── too long / bad UTF-8, JSON, number / bad frames ──▶ onInvalid
 *   send / sendLine / sendFramed ──▶ MessageWriter (batch, queue until 'drain', frames) ──▶ output
 *
 * A line with `$frames` is followed by raw bytes (frames.ts): the framer reads them into one buffer
 * and the message is emitted once they are all there, with Buffers where `{"$bytes": i}` stood.
 * A message sent with Uint8Arrays in it goes the same way, or as base64 to a peer that reads no frames.
 *
 * An invalid line carries the `id` (and `type`) its head shows, so whoever reads the channel can
 * answer or fail that request instead of leaving it waiting.
 */
import type { Readable, Writable } from 'node:stream';
import { PodkeeperError } from '../errors.js';
import { Listeners } from '../events.js';
import type { Frame, LineText } from './frames.js';
import { scanHead } from './json-values.js';
import { HEAD_BYTES } from './line-framer.js';
import { type InvalidReason, MessageReader } from './message-reader.js';
import { MessageWriter, newInputTurn } from './message-writer.js';

/** Options of {@link JsonLinesChannel}. */
export interface JsonLinesChannelOptions {
  /** Longest accepted line, in bytes (UTF-8). @default 64 * 1024 * 1024 */
  maxLineLength?: number;
  /** Name used in diagnostics, e.g. the pod id. @default undefined */
  name?: string;
  /** Most bytes of frames one message may carry. @default 1024 * 1024 * 1024 */
  maxFrameBytes?: number;
  /** The peer reads frames: send() writes bytes as frames (else as `{"$base64"}`). @default true */
  peerReadsFrames?: boolean;
  /** Every message sent says `$frames: []` when it has no frames: this side reads them. @default false */
  announceFrames?: boolean;
  /**
   * In a line of 64 KiB or more, the value at this path (e.g. `["payload", "input"]`) is not parsed:
   * it comes as a RawJson, its bytes, to be relayed as they are (raw-json.ts). @default undefined
   */
  rawPath?: readonly string[];
  /**
   * The peer writes the `rawPath` member (a one-name path) last in its lines, as the runner does
   * with `result`: it is found from the line's head and tail, without scanning. @default false
   */
  rawLast?: boolean;
}

export { readsFrames } from './message-reader.js';

/** A line that was dropped: too long, not UTF-8, not JSON, or carrying a number it cannot represent. */
export interface InvalidLine {
  reason: InvalidReason;
  /** The first 200 characters of the line. */
  preview: string;
  /** The line's size in bytes (without its newline). */
  length: number;
  name: string | undefined;
  /** The line's top-level `id` and `type`, when its head shows them. */
  id?: string | number;
  type?: string;
  /** What is wrong, in words (the JSON error, the number refused...). */
  detail: string;
}

type Chunk = Buffer | string;

const PREVIEW_LENGTH = 200;

export class JsonLinesChannel {
  readonly #input: Readable;
  readonly #name: string | undefined;
  readonly #reader: MessageReader;
  readonly #messages = new Listeners<unknown>();
  readonly #invalids = new Listeners<InvalidLine>();
  readonly #closes = new Listeners<Error | undefined>();
  readonly #writer: MessageWriter;
  #inputEnded = false;
  #inputClosed = false;
  #destroyed = false;

  constructor(input: Readable, output: Writable, options: JsonLinesChannelOptions = {}) {
    const { maxLineLength = 64 * 1024 * 1024, name, maxFrameBytes = 1024 ** 3 } = options;
    if (!Number.isSafeInteger(maxLineLength) || maxLineLength < 1) {
      throw new PodkeeperError(
        'INVALID_OPTION',
        `Expected \`maxLineLength\` to be a positive integer, got ${String(maxLineLength)}`,
        { details: { option: 'maxLineLength', value: maxLineLength } },
      );
    }
    this.#input = input;
    this.#name = name;
    this.#writer = new MessageWriter(output, {
      name,
      peerReadsFrames: options.peerReadsFrames ?? true,
      announceFrames: options.announceFrames ?? false,
    });
    this.#reader = new MessageReader(
      maxLineLength,
      maxFrameBytes,
      {
        message: (value) => {
          if (!this.#destroyed) this.#messages.emit(value);
        },
        invalid: (reason, text, length, detail) => {
          if (!this.#destroyed) this.#invalid(reason, text, length, detail);
        },
      },
      options.rawPath && { path: options.rawPath, last: options.rawLast },
    );
    input.on('data', this.#onData).on('end', this.#onEnd).on('error', this.#onInputError);
    input.on('close', this.#onInputClose);
  }

  /** Calls `listener` with every parsed message. Returns a disposer. */
  onMessage(listener: (message: unknown) => void): () => void {
    return this.#messages.add(listener);
  }

  /** Calls `listener` with every dropped line (bad JSON, too long). Returns a disposer. */
  onInvalid(listener: (invalid: InvalidLine) => void): () => void {
    return this.#invalids.add(listener);
  }

  /** Calls `listener` once when the input ends (after its last line) or fails. Returns a disposer. */
  onClose(listener: (error?: Error) => void): () => void {
    return this.#closes.add(listener);
  }

  /**
   * Writes `message` as one line. Resolves when the line is handed to the output stream: at once while
   * the output accepts data, in order after `'drain'` while it does not. Rejects with `CHANNEL_CLOSED`
   * once the output is ended, destroyed or failed, and with `BAD_REQUEST` if `message` is not JSON.
   */
  send(message: unknown): Promise<void> {
    return this.#writer.send(message);
  }

  /** {@link sendLine} for a line announcing frames (see frames.ts): the line, then its frames. */
  sendFramed(line: LineText, frames: Frame[]): boolean {
    return this.#writer.sendFramed(line, frames);
  }

  /**
   * Writes `line`, one JSON text without its newline, as {@link send} does but with no promise: a
   * line that cannot be written (the output closed) is dropped silently. Returns false once the
   * output is blocked: this line filled it (it was written) or waits in the queue until `'drain'`.
   */
  sendLine(line: string): boolean {
    return this.#writer.sendLine(line);
  }

  /** True while the output has refused data (write() returned false) and `'drain'` has not come. */
  get blocked(): boolean {
    return this.#writer.blocked;
  }

  /** Characters (and frame bytes) accepted by send/sendLine and not yet handed to the output stream. */
  get pendingLength(): number {
    return this.#writer.pendingLength;
  }

  /** False once the output side is ended, destroyed or failed. */
  get writable(): boolean {
    return this.#writer.writable;
  }

  /** Ends the output side (e.g. closes the pod's stdin) once every queued line is written. */
  end(): void {
    this.#writer.end();
  }

  /** Stops listening, rejects queued sends, destroys both streams. No event fires after this. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const listeners of [this.#messages, this.#invalids, this.#closes]) listeners.clear();
    // The input's error listener stays: a late error must never become an uncaught 'error'.
    this.#input.off('data', this.#onData).off('end', this.#onEnd).off('close', this.#onInputClose);
    this.#writer.destroy();
    this.#input.destroy();
  }

  #onData = (chunk: Chunk): void => {
    if (this.#destroyed) return;
    newInputTurn();
    this.#reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  };

  #invalid(reason: InvalidLine['reason'], text: string, length: number, detail: string): void {
    const head = text.length > HEAD_BYTES ? text.slice(0, HEAD_BYTES) : text;
    const preview = head.slice(0, PREVIEW_LENGTH);
    this.#invalids.emit({ reason, preview, length, name: this.#name, detail, ...scanHead(head) });
  }

  #onEnd = (): void => {
    this.#inputEnded = true;
    if (!this.#destroyed) this.#reader.end(); // the last, unterminated line
    this.#closeInput(undefined);
  };

  #onInputClose = (): void => {
    if (!this.#inputEnded) this.#closeInput(undefined);
  };

  #onInputError = (error: Error): void => this.#closeInput(error);

  #closeInput(error: Error | undefined): void {
    if (this.#inputClosed || this.#destroyed) return;
    this.#inputClosed = true;
    this.#closes.emit(error);
  }
}
