/**
 * One control client: a socket connection, or the host on the daemon's stdio. It rides the same
 * JsonLinesChannel as the pods and turns lines into handler calls:
 *
 *   line ─channel─▶ envelope (zod) ─▶ action known? ─▶ payload (zod) ─▶ handler(payload, context)
 *     │ bad JSON/UTF-8, too long:     │ no: UNKNOWN_ACTION   │ no: BAD_REQUEST    │ progress, chunk, events
 *     │ BAD_REQUEST; inexact number:  ▼                      ▼                    ▼
 *     └─ UNREPRESENTABLE (id from   one final {id, success, result|error} per request ──▶ channel
 *        the line's head, else null)
 *
 * Every request is answered exactly once, with its own id, in the order its handler finishes.
 * A client that leaves cancels its requests in flight. A client that does not read costs next to
 * nothing (client-output.ts): while its socket is full, the events of its streams are skipped and
 * counted, and once it drains each stream gets one `lagged` event with the count. What cannot be
 * skipped (answers, a call's progress and chunks) is queued as one serialized line; past
 * `maxBufferBytes` for the client, or when it holds the most as all clients together pass the shared
 * `budget`, the client is dropped. So slow clients can never grow the daemon's memory.
 */

import type { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Cancellation } from '../cancellation.js';
import { isPodkeeperError, PodkeeperError } from '../errors.js';
import type { ManagerEvent } from '../manager/events.js';
import { type ControlAction, type RequestId, STREAM_ACTIONS } from '../protocol/control.js';
import type { ControlEventBody } from '../protocol/control-replies.js';
import type { RequestEvent } from '../protocol/pod.js';
import { JsonLinesChannel, readsFrames } from '../transport/json-lines.js';
import { ClientOutput } from './client-output.js';
import type { DaemonProgress, DaemonServices, HandlerContext } from './context.js';
import { handlers } from './handlers/index.js';
import type { BufferedClient, OutboundBudget } from './outbound-budget.js';
import { failure, handlerFailure, refusal } from './replies.js';
import { checkRequest } from './request-check.js';
import { RequestContext } from './request-context.js';

export interface ConnectionOptions {
  /** Shown in logs: "client 3", "stdio". */
  name: string;
  /** Longest accepted request line, bytes (UTF-8). */
  maxLineLength: number;
  /** Unwritten output (bytes) beyond which the client is dropped as too slow. */
  maxBufferBytes: number;
  /** The bound on the unwritten output of all clients together. */
  budget?: OutboundBudget;
  logger: Logger;
}

interface InFlight {
  cancellation: Cancellation;
  stream: boolean;
  /** Already answered (with INTERNAL_ERROR: one of its events could not be written); its end is not sent. */
  answered?: boolean;
  /** The request announced `$frames`: bytes in its answer and events go as frames, else as base64. */
  frames: boolean;
}

/**
 * Requests of one connection running at once before the daemon stops reading more from it (they are
 * not refused: reading resumes as they finish). With the pause while its output is blocked, this
 * bounds what a client that sends without reading can make the daemon hold.
 */
const MAX_RUNNING_PER_CONNECTION = 1024;

export class ControlConnection implements BufferedClient {
  readonly name: string;
  /** Settles once the client is gone (left, dropped, or ended by the daemon). */
  readonly closed: Promise<void>;
  readonly #channel: JsonLinesChannel;
  readonly #out: ClientOutput;
  readonly #input: Readable;
  readonly #output: Writable;
  readonly #services: DaemonServices;
  readonly #log: Logger;
  readonly #inFlight = new Map<RequestId, InFlight>();
  #calls = 0;
  #callsDone: (() => void)[] = [];
  #refusing: PodkeeperError | undefined;
  #isClosed = false;
  #markClosed!: () => void;

  constructor(input: Readable, output: Writable, services: DaemonServices, options: ConnectionOptions) {
    this.name = options.name;
    this.#input = input;
    this.#output = output;
    this.#services = services;
    this.#log = options.logger.child({ connection: options.name });
    this.closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#channel = new JsonLinesChannel(input, output, {
      maxLineLength: options.maxLineLength,
      name: options.name,
      rawPath: ['payload', 'input'], // a big call's input goes to its pod as the bytes it came as
    });
    this.#out = new ClientOutput(this.#channel, output, options, {
      isClosed: () => this.#isClosed,
      readsFrames: (id) => this.#inFlight.get(id)?.frames === true,
      pauseInput: () => this.#input.pause(),
      unsendable: (message, error) => this.#unsendable(message, error),
      tooSlow: (bound) => this.dropAsSlow(bound),
    });
    this.#channel.onMessage((message) => this.#onRequest(message));
    this.#channel.onInvalid((bad) => this.#out.send(refusal(bad)));
    this.#channel.onClose(() => this.#onInputClosed());
    output.on('drain', () => {
      // after the channel's own 'drain' has written its queue
      this.#out.reportLag();
      this.#resumeInput();
    });
    const leave = options.budget?.join(this);
    if (leave) void this.closed.then(leave);
  }

  /** Output queued for the client and not yet taken by its socket, bytes. */
  get bufferedBytes(): number {
    return this.#out.bufferedBytes;
  }

  /** Drops the client because its unwritten output passed `bound`. */
  dropAsSlow(bound: { bytes: number; scope: 'client' | 'all clients' }): void {
    if (this.#isClosed) return;
    this.#log.warn(
      { queuedBytes: this.bufferedBytes, bound: bound.bytes, scope: bound.scope },
      'dropping a client that does not read its output',
    );
    this.destroy();
  }

  /** Requests in flight that are not streams (calls, starts, stops...). */
  get calls(): number {
    return this.#calls;
  }

  /** Called when the client's input ends; by default the client left, so its requests are cancelled. */
  onInputEnd: () => void = () => this.destroy();

  /**
   * From now on new requests are answered `SHUTTING_DOWN`, and the streams end with it; calls in
   * flight go on. Resolves once no call is in flight.
   */
  refuseNew(error: PodkeeperError): Promise<void> {
    this.#refusing = error;
    for (const request of this.#inFlight.values()) if (request.stream) request.cancellation.cancel(error);
    return this.#calls === 0 ? Promise.resolve() : new Promise((resolve) => this.#callsDone.push(resolve));
  }

  /** Aborts everything in flight (calls are answered with `reason` while the client is there). */
  abortAll(reason: PodkeeperError): void {
    for (const request of this.#inFlight.values()) request.cancellation.cancel(reason);
  }

  /** Writes what is queued, ends the output, and releases the connection. */
  async end(): Promise<void> {
    if (this.#isClosed) return;
    const output = this.#output;
    const finished = new Promise<void>((resolve) => {
      if (output.writableFinished || output.destroyed) resolve();
      output.once('finish', resolve).once('close', resolve).once('error', resolve);
    });
    this.#channel.end();
    await Promise.race([finished, delay(2000, undefined, { ref: false })]);
    this.destroy();
  }

  /** Drops the client at once; its requests in flight are cancelled. */
  destroy(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    // The error (a stack capture) only when something is in flight: every CLI command is a connection.
    if (this.#inFlight.size > 0)
      this.abortAll(new PodkeeperError('CANCELLED', `The client (${this.name}) left.`));
    this.#channel.destroy();
    this.#markClosed();
  }

  // ---------------------------------------------------------------- requests

  #onInputClosed(): void {
    if (!this.#isClosed) this.onInputEnd();
  }

  #onRequest(raw: unknown): void {
    const request = checkRequest(raw, { inFlight: (id) => this.#inFlight.has(id), refusing: this.#refusing });
    if (request.ok) this.#run(request.id, request.action, request.payload, readsFrames(raw));
    else this.#out.send(request.answer);
  }

  #run(id: RequestId, action: ControlAction, payload: unknown, frames: boolean): void {
    const cancellation = new Cancellation();
    const stream = STREAM_ACTIONS.has(action);
    this.#inFlight.set(id, { cancellation, stream, frames });
    if (this.#inFlight.size >= MAX_RUNNING_PER_CONNECTION) this.#input.pause();
    if (!stream) this.#calls += 1;
    const context = new RequestContext(this.#services, id, cancellation, {
      forward: (event: RequestEvent | DaemonProgress) => this.#out.send({ ...event, id }),
      emit: (event: ControlEventBody | ManagerEvent) => this.#out.emit(id, event),
      cancel: (other: RequestId) => this.#cancel(other),
    });
    let running: Promise<unknown>;
    try {
      const handler = handlers[action] as (payload: unknown, context: HandlerContext) => Promise<unknown>;
      running = handler(payload, context);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (result) => this.#finish(id, stream, { id, success: true, result }),
      (error: unknown) => this.#finish(id, stream, failure(id, handlerFailure(error, action, this.#log))),
    );
  }

  #finish(id: RequestId, stream: boolean, answer: object): void {
    const request = this.#inFlight.get(id);
    this.#inFlight.delete(id);
    this.#out.ended(id);
    if (!request?.answered) this.#out.send(answer, request?.frames);
    this.#resumeInput();
    if (stream) return;
    this.#calls -= 1;
    if (this.#calls === 0 && this.#callsDone.length > 0) {
      const waiting = this.#callsDone;
      this.#callsDone = [];
      for (const resolve of waiting) resolve();
    }
  }

  #cancel(id: RequestId): boolean {
    const request = this.#inFlight.get(id);
    if (!request) return false;
    request.cancellation.cancel(
      new PodkeeperError('CANCELLED', `Request ${JSON.stringify(id)} was cancelled by its client.`, {
        details: { requestId: id },
      }),
    );
    return true;
  }

  // ---------------------------------------------------------------- output

  /** Reads requests again once the client takes its output and fewer than the bound are running. */
  #resumeInput(): void {
    if (this.#isClosed || this.#out.blocked || this.#inFlight.size >= MAX_RUNNING_PER_CONNECTION) return;
    if (this.#input.isPaused()) this.#input.resume();
  }

  /**
   * A line that cannot be written as JSON (a value nested too deep for JSON.stringify, a BigInt)
   * still answers its request: INTERNAL_ERROR for its id. An event of a request still running ends
   * that request (it is cancelled, and its own end is not sent). Nothing to do once the output closed.
   */
  #unsendable(message: object, error: PodkeeperError): void {
    const { id, success } = message as { id?: unknown; success?: unknown };
    const cause = error.cause instanceof Error ? error.cause : error;
    this.#log.error({ err: cause, requestId: id }, 'an answer could not be written as JSON');
    if (typeof id !== 'string' && typeof id !== 'number') return;
    if (success === undefined) {
      const request = this.#inFlight.get(id);
      if (!request || request.answered) return;
      request.answered = true;
      this.#cancel(id);
    }
    // A relayed value the client must get parsed (bytes as base64) may not parse: its own code.
    if (isPodkeeperError(cause)) {
      this.#out.send(failure(id, cause.toJSON() as Record<string, unknown>));
      return;
    }
    const text = `The daemon's answer to request ${JSON.stringify(id)} cannot be written as JSON (${cause.message}).`;
    this.#out.send(failure(id, { code: 'INTERNAL_ERROR', message: text }));
  }
}
