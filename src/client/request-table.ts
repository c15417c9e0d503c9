/**
 * The client's requests in flight: each gets an id, the daemon's lines are routed to it by that id,
 * and it settles exactly once.
 *
 *   send ─▶ {id, action, payload} ─channel─▶ daemon
 *   pending[id] ◀── progress / chunk / event ◀── daemon      (routed by id to the call or stream)
 *   pending[id] ◀── {id, success, result|error}              (settles it, exactly once)
 *   onUnnamedError ◀── {id: null, success: false, error}      (a line the daemon could not read; it
 *                                                             fails the only pending request, if one)
 *
 * A reply the client cannot read fails the request it names, or ends the connection when it names
 * none; once ended, every request in flight and every later one rejects with the same error.
 */
import { z } from 'zod';
import { type ErrorCode, PodkeeperError, unreadableLineCode } from '../errors.js';
import type { ControlAction } from '../protocol/control.js';
import {
  controlChunkSchema,
  controlProgressSchema,
  controlResponseSchema,
} from '../protocol/control-replies.js';
import type { InvalidLine, JsonLinesChannel } from '../transport/json-lines.js';

export interface PendingRequest {
  resolve(result: unknown): void;
  reject(error: PodkeeperError): void;
  event?: (line: Record<string, unknown>) => void;
}

const eventLineSchema = z.looseObject({ type: z.literal('event'), id: z.unknown(), event: z.string() });

export class ClientRequestTable {
  readonly #pending = new Map<string, PendingRequest>();
  readonly #channel: JsonLinesChannel;
  readonly #name: string;
  readonly #onUnnamedError: (error: PodkeeperError) => void;
  readonly #onEnd: () => void;
  #nextId = 0;
  #ended: PodkeeperError | undefined;

  constructor(
    channel: JsonLinesChannel,
    name: string,
    hooks: { onUnnamedError: (error: PodkeeperError) => void; onEnd: () => void },
  ) {
    this.#channel = channel;
    this.#name = name;
    this.#onUnnamedError = hooks.onUnnamedError;
    this.#onEnd = hooks.onEnd;
  }

  /** Requests sent and not yet answered. */
  get size(): number {
    return this.#pending.size;
  }

  /** Sends a request; `event` gets its progress, chunks and stream events. Aborting `signal` cancels it. */
  send(
    action: ControlAction,
    payload: unknown,
    options: { signal?: AbortSignal; event?: PendingRequest['event'] } = {},
  ): { id: string; result: Promise<unknown> } {
    this.#nextId += 1;
    const id = this.#nextId.toString(36);
    if (this.#ended) return { id, result: rejected(this.#ended) };
    const { signal } = options;
    if (signal?.aborted) {
      return {
        id,
        result: rejected(new PodkeeperError('CANCELLED', `The ${action} request was cancelled.`)),
      };
    }
    const result = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, event: options.event });
    });
    this.#channel.send({ id, action, payload }).catch(() => undefined);
    if (signal) {
      const onAbort = () => this.cancel(id);
      signal.addEventListener('abort', onAbort, { once: true });
      const forget = () => signal.removeEventListener('abort', onAbort);
      result.then(forget, forget);
    }
    return { id, result };
  }

  /** Asks the daemon to cancel request `id`, if it is still in flight. */
  cancel(id: string): void {
    if (!this.#pending.has(id) || this.#ended) return;
    this.#nextId += 1;
    const cancelId = this.#nextId.toString(36);
    this.#channel.send({ id: cancelId, action: 'cancel', payload: { id } }).catch(() => undefined);
  }

  /** A line the daemon sent: a reply or an event, routed to its request. */
  onLine(line: unknown): void {
    if (typeof line !== 'object' || line === null) return;
    const record = line as Record<string, unknown>;
    const type = record['type'];
    if (type === undefined) {
      const parsed = controlResponseSchema.safeParse(line);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.join('.') || '(root)';
        this.#unreadable(
          record['id'],
          `${where}: ${issue?.message ?? 'invalid'}`,
          'BAD_RESPONSE',
          'schema',
          true,
        );
        return;
      }
      if (parsed.data.id === null) {
        if (!parsed.data.success) this.#unnamedError(PodkeeperError.fromJSON(parsed.data.error));
        return;
      }
      const id = String(parsed.data.id);
      const pending = this.#pending.get(id);
      if (!pending) return;
      this.#pending.delete(id);
      if (parsed.data.success) pending.resolve(parsed.data.result);
      else pending.reject(PodkeeperError.fromJSON(parsed.data.error));
      return;
    }
    const schema =
      type === 'progress' ? controlProgressSchema : type === 'chunk' ? controlChunkSchema : eventLineSchema;
    if (!schema.safeParse(line).success) return;
    this.#pending.get(String(record['id']))?.event?.(record);
  }

  /**
   * An error naming no request: the daemon could not read one of our lines at all. It is emitted as
   * 'error'. With exactly one request pending the line can only have been that one's, so it fails
   * (and is cancelled, in case the daemon runs it after all); with more, none can be told apart.
   */
  #unnamedError(error: PodkeeperError): void {
    this.#onUnnamedError(error);
    if (this.#pending.size !== 1) return;
    const [id, pending] = this.#pending.entries().next().value as [string, PendingRequest];
    this.cancel(id);
    this.#pending.delete(id);
    pending.reject(error);
  }

  /** A line the channel could not read (too long, not UTF-8, not JSON, an inexact number). */
  onInvalid(bad: InvalidLine): void {
    const code = unreadableLineCode(bad.reason);
    this.#unreadable(bad.id, bad.detail, code, bad.reason, bad.type === undefined, bad.length);
  }

  /**
   * Fails the request a reply it cannot read names; when that was one of its events (not `final`),
   * asks the daemon to cancel it, since it still runs. A reply that names none of ours could belong
   * to any of them: the connection ends, so no call is left waiting for it.
   */
  #unreadable(
    id: unknown,
    detail: string,
    code: ErrorCode,
    reason: string,
    final: boolean,
    size?: number,
  ): void {
    const requestId = typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
    const pending = requestId === undefined ? undefined : this.#pending.get(requestId);
    const details = { requestId, reason, size };
    if (requestId === undefined || !pending) {
      if (requestId !== undefined) return; // an answer to a cancel, or to a call already given up
      const message = `${this.#name} sent a line that cannot be read and names no request (${detail}).`;
      this.end(new PodkeeperError(code, `${message} The connection is closed.`, { details }));
      return;
    }
    if (!final) this.cancel(requestId);
    this.#pending.delete(requestId);
    const message = `The reply from ${this.#name} to request ${requestId} cannot be read: ${detail}`;
    pending.reject(new PodkeeperError(code, message, { details }));
  }

  /** Rejects every request in flight (and every later one) with `error`; closes the channel. */
  end(error: PodkeeperError): void {
    if (this.#ended) return;
    this.#ended = error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.reject(error);
    this.#channel.destroy();
    this.#onEnd();
  }
}

function rejected(error: PodkeeperError): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(() => undefined);
  return promise;
}
