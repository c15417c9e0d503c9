/**
 * Messages in, bytes out: the one writer of a JSON-lines channel.
 *
 *   send ──stringify──▶ first line of the input turn ──write──▶ output  (write() false → queue until 'drain')
 *   sendLine (already JSON) ──┘  └─ more lines in the same turn ──▶ same-tick batch ──write──┘
 *                                 (sendLine: no promise, for writers that count what they queue themselves)
 *   sendFramed / send with bytes ──▶ flush the batch, then the line and its frames in one corked write
 *
 * Once the output ends, fails or closes, every queued send is rejected with `CHANNEL_CLOSED`.
 */
import type { Writable } from 'node:stream';
import { PodkeeperError } from '../errors.js';
import { type EncodedMessage, encodeMessage, type Frame, frameLength, type LineText } from './frames.js';
import { tellWhenWritten } from './large-writes.js';

/** Options of {@link MessageWriter}. */
export interface MessageWriterOptions {
  /** Name used in diagnostics, e.g. the pod id. */
  name: string | undefined;
  /** The peer reads frames: send() writes bytes as frames (else as `{"$base64"}`). */
  peerReadsFrames: boolean;
  /** Every message sent says `$frames: []` when it has no frames: this side reads them. */
  announceFrames: boolean;
}

interface QueuedSend {
  /** The line with its newline. */
  line: LineText;
  frames?: Frame[];
  /** Absent for {@link MessageWriter.sendLine}: nobody waits on that line. */
  resolve?: () => void;
  reject?: (error: Error) => void;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Input turns: every channel's reader starts one as a chunk of input arrives (json-lines.ts). The
 * first line a writer is given in a turn is written at once (a warm call's line does not wait for a
 * tick); the lines that follow it in the same turn are batched into one write on the next tick, so
 * the answers to a chunk of pipelined requests still leave in two writes, not one each.
 */
let inputTurn = 0;

/** A chunk of input arrived: the next line each writer is given may be written at once. */
export function newInputTurn(): void {
  inputTurn += 1;
}

export class MessageWriter {
  readonly #output: Writable;
  readonly #name: string | undefined;
  readonly #peerReadsFrames: boolean;
  readonly #announceFrames: boolean;
  /** Output ended or failed; end() asked; write() returned false; same-tick batch. */
  #outputClosed = false;
  #ending = false;
  #blocked = false;
  #batch = '';
  readonly #batchLimit: number;
  #flushScheduled = false;
  /** The input turn in which this writer last wrote a line at once. */
  #directTurn = -1;
  #queue: QueuedSend[] = [];
  /** Characters in `#queue` (lines with their newlines). */
  #queuedLength = 0;

  constructor(output: Writable, options: MessageWriterOptions) {
    this.#output = output;
    this.#name = options.name;
    this.#peerReadsFrames = options.peerReadsFrames;
    this.#announceFrames = options.announceFrames;
    this.#batchLimit = output.writableHighWaterMark;
    output.on('drain', this.#onDrain).on('error', this.#onOutputError).on('close', this.#onOutputClose);
  }

  /** See {@link JsonLinesChannel.send}. */
  send(message: unknown): Promise<void> {
    if (this.#outputClosed || this.#ending) return Promise.reject(this.#closedError());
    let encoded: EncodedMessage;
    try {
      encoded = encodeMessage(message, this.#peerReadsFrames, this.#announceFrames);
    } catch (cause) {
      return Promise.reject(new PodkeeperError('BAD_REQUEST', 'Message is not serializable', { cause }));
    }
    const { line, frames } = encoded;
    if (line === undefined) return Promise.reject(new PodkeeperError('BAD_REQUEST', 'Message is not JSON'));
    if (this.#blocked) {
      return new Promise((resolve, reject) =>
        this.#enqueue({ line: withNewline(line), frames, resolve, reject }),
      );
    }
    if (frames.length > 0 || typeof line !== 'string') this.#writeFramed(line, frames);
    else this.#append(line);
    return RESOLVED;
  }

  /** See {@link JsonLinesChannel.sendFramed}. */
  sendFramed(line: LineText, frames: Frame[]): boolean {
    if (frames.length === 0 && typeof line === 'string') return this.sendLine(line);
    if (this.#outputClosed || this.#ending) return false;
    if (this.#blocked) {
      this.#enqueue({ line: withNewline(line), frames });
      return false;
    }
    this.#writeFramed(line, frames);
    return !this.#blocked;
  }

  /** See {@link JsonLinesChannel.sendLine}. */
  sendLine(line: string): boolean {
    if (this.#outputClosed || this.#ending) return false;
    if (this.#blocked) {
      this.#enqueue({ line: `${line}\n` });
      return false;
    }
    this.#append(line);
    return !this.#blocked;
  }

  /** True while the output has refused data (write() returned false) and `'drain'` has not come. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Characters (and frame bytes) accepted and not yet handed to the output stream. */
  get pendingLength(): number {
    return this.#batch.length + this.#queuedLength;
  }

  /** False once the output is ended, destroyed or failed. */
  get writable(): boolean {
    return !this.#outputClosed && !this.#ending && this.#output.writable;
  }

  /** Ends the output once every queued line is written. */
  end(): void {
    if (this.#outputClosed || this.#ending) return;
    this.#ending = true;
    this.#flush();
    if (this.#queue.length === 0) this.#output.end(); // else once the queue is written
  }

  /** Stops listening, rejects queued sends, destroys the output. */
  destroy(): void {
    this.#output.off('drain', this.#onDrain).off('close', this.#onOutputClose);
    // The error listener stays: a late EPIPE must never become an uncaught 'error'.
    this.#failOutput(undefined);
    this.#output.destroy();
  }

  #append(line: string): void {
    if (this.#batch === '' && this.#directTurn !== inputTurn) {
      this.#directTurn = inputTurn;
      const text = `${line}\n`;
      if (!this.#output.write(text)) this.#blocked = true;
      tellWhenWritten(this.#output, text.length);
      return;
    }
    this.#batch += `${line}\n`;
    if (this.#batch.length >= this.#batchLimit) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flush);
    }
  }

  #enqueue(queued: QueuedSend): void {
    this.#queue.push(queued);
    this.#queuedLength += messageBytes(queued.line, queued.frames);
  }

  /** The batch so far, then the line (its pieces) and its frames, in one corked write. */
  #writeFramed(line: LineText, frames: Frame[]): void {
    this.#output.cork();
    this.#flush();
    let ok = this.#writeText(withNewline(line));
    for (const frame of frames) ok = this.#writeFrame(frame);
    this.#output.uncork();
    if (!ok) this.#blocked = true;
    tellWhenWritten(this.#output, messageBytes(line, frames));
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#batch === '' || this.#outputClosed) return;
    const batch = this.#batch;
    this.#batch = '';
    if (!this.#output.write(batch)) this.#blocked = true;
    tellWhenWritten(this.#output, batch.length);
  };

  #onDrain = (): void => {
    this.#blocked = false;
    if (this.#queue.length === 0) return;
    this.#output.cork(); // the queued lines leave in one writev
    let bytes = 0;
    for (let queued = this.#queue.shift(); queued !== undefined; queued = this.#queue.shift()) {
      const length = messageBytes(queued.line, queued.frames);
      this.#queuedLength -= length;
      bytes += length;
      this.#blocked = !this.#writeText(queued.line);
      for (const frame of queued.frames ?? []) this.#blocked = !this.#writeFrame(frame);
      queued.resolve?.();
      if (this.#blocked) break;
    }
    this.#output.uncork();
    tellWhenWritten(this.#output, bytes);
    if (this.#ending && this.#queue.length === 0) this.#output.end();
  };

  #writeFrame(frame: Frame): boolean {
    if (frame instanceof Uint8Array) return this.#output.write(frame);
    let ok = true;
    for (const piece of frame) ok = this.#output.write(piece);
    return ok;
  }

  #writeText(text: LineText): boolean {
    if (typeof text === 'string') return this.#output.write(text);
    let ok = true;
    for (const piece of text) if (piece.length > 0) ok = this.#output.write(piece);
    return ok;
  }

  #onOutputError = (error: Error): void => this.#failOutput(error);

  #onOutputClose = (): void => this.#failOutput(undefined);

  #failOutput(cause: Error | undefined): void {
    if (this.#outputClosed) return;
    this.#outputClosed = true;
    this.#batch = '';
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedLength = 0;
    for (const queued of queue) queued.reject?.(this.#closedError(cause));
  }

  #closedError(cause?: Error): PodkeeperError {
    const message = this.#name === undefined ? 'Channel is closed' : `Channel ${this.#name} is closed`;
    return new PodkeeperError('CHANNEL_CLOSED', message, { cause, details: { channel: this.#name } });
  }
}

function withNewline(line: LineText): LineText {
  return typeof line === 'string' ? `${line}\n` : [...line, '\n'];
}

/** A message's size: its line's characters (bytes for pieces) and its frames' bytes. */
function messageBytes(line: LineText, frames: Frame[] | undefined): number {
  let length = 0;
  if (typeof line === 'string') length = line.length;
  else for (const piece of line) length += typeof piece === 'string' ? piece.length : piece.byteLength;
  for (const frame of frames ?? []) length += frameLength(frame);
  return length;
}
