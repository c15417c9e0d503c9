/**
 * One JSON-lines channel over a pair of streams: framing, line limit, guarded parse, one writer.
 * It knows no schema; it serves the pods' stdio and the control socket alike.
 *
 *   input ──data──▶ split2 (framing, '\n', CR tolerated) ──mapper──▶ JSON.parse ──▶ onMessage
 *                      │ overflow / long line                  └── bad JSON ──▶ onInvalid
 *                      └──────────────────────────────────────────────────────▶ onInvalid
 *   send ──stringify──▶ same-tick batch ──write──▶ output     (write() false → queue until 'drain')
 *
 * The mapper dispatches lines itself and returns nothing, so split2's readable side never fills and
 * each chunk is framed synchronously inside `write()`: split2's `overflow` flag is exact after it.
 */
import type { Readable, Writable } from 'node:stream';
import split2 from 'split2';
import { PodkeeperError } from '../errors.js';
import { Listeners } from '../events.js';

/** Options of {@link JsonLinesChannel}. */
export interface JsonLinesChannelOptions {
  /** Longest accepted line, in characters. @default 64 * 1024 * 1024 */
  maxLineLength?: number;
  /** Name used in diagnostics, e.g. the pod id. @default undefined */
  name?: string;
}

/** A line that was dropped: not JSON, or longer than `maxLineLength`. */
export interface InvalidLine {
  reason: 'json' | 'too-long';
  /** The first 200 characters of the line. */
  preview: string;
  /** The line's length in characters; for a line cut off while arriving, the amount received (bytes). */
  length: number;
  name: string | undefined;
}

type Chunk = Buffer | string;
interface LineSplitter extends ReturnType<typeof split2> {
  overflow: boolean;
}
interface QueuedSend {
  line: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

const RESOLVED: Promise<void> = Promise.resolve();
const PREVIEW_LENGTH = 200;

export class JsonLinesChannel {
  readonly #input: Readable;
  readonly #output: Writable;
  readonly #name: string | undefined;
  readonly #maxLineLength: number;
  readonly #splitter: LineSplitter;
  readonly #messages = new Listeners<unknown>();
  readonly #invalids = new Listeners<InvalidLine>();
  readonly #closes = new Listeners<Error | undefined>();
  #inputEnded = false;
  #inputClosed = false;
  #destroyed = false;
  /** Framing state of the current partial line: inside a dropped overlong line; its start, its size. */
  #inOverflow = false;
  #head: Chunk[] = [];
  #partialLength = 0;
  /** Writer state: output ended or failed; end() asked; write() returned false; same-tick batch. */
  #outputClosed = false;
  #ending = false;
  #blocked = false;
  #batch = '';
  readonly #batchLimit: number;
  #flushScheduled = false;
  #queue: QueuedSend[] = [];

  constructor(input: Readable, output: Writable, options: JsonLinesChannelOptions = {}) {
    const { maxLineLength = 64 * 1024 * 1024, name } = options;
    if (!Number.isSafeInteger(maxLineLength) || maxLineLength < 1) {
      throw new PodkeeperError(
        'INVALID_OPTION',
        `Expected \`maxLineLength\` to be a positive integer, got ${String(maxLineLength)}`,
        { details: { option: 'maxLineLength', value: maxLineLength } },
      );
    }
    this.#input = input;
    this.#output = output;
    this.#name = name;
    this.#maxLineLength = maxLineLength;
    this.#batchLimit = output.writableHighWaterMark;
    const splitOptions = { maxLength: maxLineLength, skipOverflow: true } as split2.Options;
    this.#splitter = split2('\n', this.#mapLine, splitOptions) as LineSplitter;
    input.on('data', this.#onData).on('end', this.#onEnd).on('error', this.#onInputError);
    input.on('close', this.#onInputClose);
    output.on('drain', this.#onDrain).on('error', this.#onOutputError).on('close', this.#onOutputClose);
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
    if (this.#outputClosed || this.#ending) return Promise.reject(this.#closedError());
    let line: string | undefined;
    try {
      line = JSON.stringify(message);
    } catch (cause) {
      return Promise.reject(new PodkeeperError('BAD_REQUEST', 'Message is not serializable', { cause }));
    }
    if (line === undefined) return Promise.reject(new PodkeeperError('BAD_REQUEST', 'Message is not JSON'));
    if (this.#blocked) {
      return new Promise((resolve, reject) => this.#queue.push({ line: `${line}\n`, resolve, reject }));
    }
    this.#batch += `${line}\n`;
    if (this.#batch.length >= this.#batchLimit) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flush);
    }
    return RESOLVED;
  }

  /** False once the output side is ended, destroyed or failed. */
  get writable(): boolean {
    return !this.#outputClosed && !this.#ending && this.#output.writable;
  }

  /** Ends the output side (e.g. closes the pod's stdin) once every queued line is written. */
  end(): void {
    if (this.#outputClosed || this.#ending) return;
    this.#ending = true;
    this.#flush();
    if (this.#queue.length === 0) this.#output.end(); // else once the queue is written
  }

  /** Stops listening, rejects queued sends, destroys both streams. No event fires after this. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const listeners of [this.#messages, this.#invalids, this.#closes]) listeners.clear();
    this.#input.off('data', this.#onData).off('end', this.#onEnd).off('close', this.#onInputClose);
    this.#output.off('drain', this.#onDrain).off('close', this.#onOutputClose);
    // The error listeners stay: a late EPIPE must never become an uncaught 'error'.
    this.#failOutput(undefined);
    this.#splitter.destroy();
    this.#input.destroy();
    this.#output.destroy();
  }

  #onData = (chunk: Chunk): void => {
    const newline = typeof chunk === 'string' ? chunk.lastIndexOf('\n') : chunk.lastIndexOf(10);
    if (newline === -1) {
      this.#partialLength += chunk.length;
      if (this.#partialLength - chunk.length < PREVIEW_LENGTH) this.#head.push(cut(chunk, 0));
    } else {
      this.#inOverflow = false; // split2 leaves overflow mode at the first newline of this chunk
      this.#partialLength = chunk.length - newline - 1;
      if (this.#head.length > 0) this.#head = [];
      if (this.#partialLength > 0) this.#head.push(cut(chunk, newline + 1));
    }
    this.#splitter.write(chunk);
    if (this.#splitter.overflow && !this.#inOverflow) {
      this.#inOverflow = true;
      this.#invalid('too-long', this.#head.join('').slice(0, PREVIEW_LENGTH), this.#partialLength);
    }
  };

  #mapLine = (line: string): undefined => {
    let length = line.length;
    if (length > 0 && line.charCodeAt(length - 1) === 13) length--;
    // At end of input split2 flushes the partial line even when it was dropped as overlong.
    if (length === 0 || this.#destroyed || this.#inOverflow) return;
    if (length > this.#maxLineLength) return this.#invalid('too-long', line.slice(0, PREVIEW_LENGTH), length);
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return this.#invalid('json', line.slice(0, PREVIEW_LENGTH), length);
    }
    this.#messages.emit(message);
  };

  #invalid(reason: InvalidLine['reason'], preview: string, length: number): undefined {
    this.#invalids.emit({ reason, preview, length, name: this.#name });
  }

  #onEnd = (): void => {
    this.#inputEnded = true;
    this.#splitter.end(() => this.#closeInput(undefined)); // after the last, unterminated line
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

  #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#batch === '' || this.#outputClosed) return;
    const batch = this.#batch;
    this.#batch = '';
    if (!this.#output.write(batch)) this.#blocked = true;
  };

  #onDrain = (): void => {
    this.#blocked = false;
    if (this.#queue.length === 0) return;
    this.#output.cork(); // the queued lines leave in one writev
    for (let queued = this.#queue.shift(); queued !== undefined; queued = this.#queue.shift()) {
      this.#blocked = !this.#output.write(queued.line);
      queued.resolve();
      if (this.#blocked) break;
    }
    this.#output.uncork();
    if (this.#ending && this.#queue.length === 0) this.#output.end();
  };

  #onOutputError = (error: Error): void => this.#failOutput(error);

  #onOutputClose = (): void => this.#failOutput(undefined);

  #failOutput(cause: Error | undefined): void {
    if (this.#outputClosed) return;
    this.#outputClosed = true;
    this.#batch = '';
    const queue = this.#queue;
    this.#queue = [];
    for (const queued of queue) queued.reject(this.#closedError(cause));
  }

  #closedError(cause?: Error): PodkeeperError {
    const message = this.#name === undefined ? 'Channel is closed' : `Channel ${this.#name} is closed`;
    return new PodkeeperError('CHANNEL_CLOSED', message, { cause, details: { channel: this.#name } });
  }
}

/** The first {@link PREVIEW_LENGTH} units of `chunk` from `start`, without copying a Buffer. */
function cut(chunk: Chunk, start: number): Chunk {
  const end = start + PREVIEW_LENGTH;
  return typeof chunk === 'string' ? chunk.slice(start, end) : chunk.subarray(start, end);
}
