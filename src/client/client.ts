/**
 * A control-protocol client over any pair of streams (a Unix socket, or a spawned daemon's stdio),
 * on the same JsonLinesChannel the daemon uses. No reconnect: when the connection ends, every
 * request in flight rejects with `CHANNEL_CLOSED` and the client is done.
 *
 *   method ─▶ {id, action, payload} ─channel─▶ daemon
 *   pending[id] ◀── progress / chunk / event ◀── daemon      (routed by id to the call or stream)
 *   pending[id] ◀── {id, success, result|error}              (settles it, exactly once)
 *   events 'error' ◀── {id: null, success: false, error}      (a line the daemon could not read; it
 *                                                             fails the only pending request, if one)
 */
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { type ErrorCode, PodkeeperError, unreadableLineCode } from '../errors.js';
import { Emitter } from '../events.js';
import type { ControlAction, ControlPayloadInput, EventName } from '../protocol/control.js';
import {
  type ControlEvent,
  controlChunkSchema,
  controlProgressSchema,
  controlResponseSchema,
} from '../protocol/control-replies.js';
import type {
  AvailableRecipe,
  ControlResult,
  GcResultWire,
  LogLine,
  PodInfoWire,
  RecipeSummary,
  StatusResult,
} from '../protocol/control-results.js';
import { type InvalidLine, JsonLinesChannel } from '../transport/json-lines.js';
import { type CallEvent, CallHandle, Subscription, toCallEvent } from './streams.js';

export interface ClientCallOptions {
  /** Recipe action. @default "process" */
  action?: string;
  /** Seconds without an answer or progress before `TIMEOUT`. */
  timeout?: number;
  /** Seconds the pod stays after this call (0 = stop after it, -1 = never). */
  keepAlive?: number;
  /** Aborting it cancels the call on the daemon. */
  signal?: AbortSignal;
  /** Progress and chunks as they arrive (they are also kept for iteration). */
  onEvent?: (event: CallEvent) => void;
}

export interface ClientOptions {
  /** Shown in errors. */
  name?: string;
  /** Longest accepted line from the daemon, bytes (UTF-8). @default 64 MiB */
  maxLineLength?: number;
  /** Runs when the client closes (the spawned daemon waits for its child here). */
  onClose?: () => Promise<void>;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: PodkeeperError): void;
  event?: (line: Record<string, unknown>) => void;
}

export interface ClientEvents extends Record<string, unknown> {
  /** An error reply from the daemon that names no request (`id: null`). */
  error: PodkeeperError;
}

const eventLineSchema = z.looseObject({ type: z.literal('event'), id: z.unknown(), event: z.string() });

export class PodkeeperClient {
  /** Settles once the connection has ended, for whatever reason. */
  readonly closed: Promise<void>;
  /** 'error': what the daemon reported about a line of ours it could not read at all (`id: null`). */
  readonly events = new Emitter<ClientEvents>();
  readonly #channel: JsonLinesChannel;
  readonly #pending = new Map<string, Pending>();
  readonly #name: string;
  readonly #onClose: (() => Promise<void>) | undefined;
  #nextId = 0;
  #ended: PodkeeperError | undefined;
  #markClosed!: () => void;
  #closing: Promise<void> | undefined;

  constructor(input: Readable, output: Writable, options: ClientOptions = {}) {
    this.#name = options.name ?? 'the daemon';
    this.#onClose = options.onClose;
    this.closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#channel = new JsonLinesChannel(input, output, {
      maxLineLength: options.maxLineLength,
      name: this.#name,
    });
    this.#channel.onMessage((line) => this.#onLine(line));
    this.#channel.onInvalid((bad) => this.#onInvalid(bad));
    this.#channel.onClose(() =>
      this.#end(new PodkeeperError('CHANNEL_CLOSED', `The connection to ${this.#name} was closed.`)),
    );
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.#pending.size;
  }

  // ---------------------------------------------------------------- typed actions

  status(): Promise<StatusResult> {
    return this.request('status', {});
  }

  async pods(): Promise<PodInfoWire[]> {
    return (await this.request('pods.list', {})).pods;
  }

  /** Starts the target's pod and resolves once it is ready. */
  start(target: string): Promise<PodInfoWire> {
    return this.request('pods.start', { target });
  }

  async stop(selector: { target: string } | { podId: string } | { all: true }): Promise<PodInfoWire[]> {
    return (await this.request('pods.stop', selector)).pods;
  }

  /** Calls a recipe; await the handle for the result, iterate it for progress and chunks. */
  call<T = unknown>(target: string, input: unknown = {}, options: ClientCallOptions = {}): CallHandle<T> {
    const payload: ControlPayloadInput<'call'> = { target, input };
    if (options.action !== undefined) payload.action = options.action;
    if (options.timeout !== undefined) payload.timeout = options.timeout;
    if (options.keepAlive !== undefined) payload.keepAlive = options.keepAlive;
    let handle: CallHandle<T> | undefined;
    const early: CallEvent[] = [];
    const { id, result } = this.#send('call', payload, {
      signal: options.signal,
      event: (line) => {
        const event = toCallEvent(line);
        if (!event) return;
        options.onEvent?.(event);
        if (handle) handle.push(event);
        else early.push(event);
      },
    });
    handle = new CallHandle<T>(id, result as Promise<T>, () => this.#cancel(id));
    for (const event of early) handle.push(event);
    return handle;
  }

  async recipes(): Promise<RecipeSummary[]> {
    return (await this.request('recipes.list', {})).recipes;
  }

  /** The recipe index: what can be installed, with sizes, and whether each is installed. */
  async availableRecipes(): Promise<AvailableRecipe[]> {
    return (await this.request('recipes.list', { available: true })).available ?? [];
  }

  async install(
    source: string,
    options: { sha256?: string; insecure?: boolean; onProgress?: (event: ControlEvent) => void } = {},
  ): Promise<RecipeSummary> {
    const payload: ControlPayloadInput<'recipes.install'> = { source };
    if (options.sha256 !== undefined) payload.sha256 = options.sha256;
    if (options.insecure !== undefined) payload.insecure = options.insecure;
    const { result } = this.#send('recipes.install', payload, {
      event: (line) => options.onProgress?.(line as ControlEvent),
    });
    return ((await result) as ControlResult<'recipes.install'>).recipe;
  }

  async remove(name: string): Promise<void> {
    await this.request('recipes.remove', { name });
  }

  async logs(filter: { target?: string; podId?: string; lines?: number } = {}): Promise<LogLine[]> {
    return (await this.request('logs.tail', filter)).lines;
  }

  /**
   * Log lines as `pod.log` events: the last `lines` first, then each new one; a `lagged` event says
   * how many lines were skipped while this client did not read.
   */
  followLogs(
    filter: { target?: string; podId?: string; lines?: number } = {},
  ): Promise<Subscription<Extract<ControlEvent, { event: 'pod.log' | 'lagged' }>>> {
    return this.#subscribe('logs.follow', filter);
  }

  /** The daemon's events (pod spawned, state, ready, reclaimed, crashed, log, …) until closed. */
  subscribe(filter: { events?: EventName[]; target?: string; podId?: string } = {}): Promise<Subscription> {
    return this.#subscribe('events.subscribe', filter);
  }

  /** Removes the Python envs no known recipe needs; says which went and which stayed (and why). */
  gc(): Promise<GcResultWire> {
    return this.request('gc', {});
  }

  /** Asks the daemon to stop gracefully; resolves once it has accepted. */
  async shutdown(): Promise<void> {
    await this.request('shutdown', {});
  }

  /** Any action, by name: the typed methods above are thin wrappers of this. */
  request<A extends ControlAction>(
    action: A,
    payload: ControlPayloadInput<A>,
    options: { signal?: AbortSignal } = {},
  ): Promise<ControlResult<A>> {
    return this.#send(action, payload, options).result as Promise<ControlResult<A>>;
  }

  /** Ends the connection; requests in flight reject with `CHANNEL_CLOSED` (the daemon cancels them). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#end(new PodkeeperError('CHANNEL_CLOSED', `The client closed its connection to ${this.#name}.`));
      await this.#onClose?.();
    })();
    return this.#closing;
  }

  // ---------------------------------------------------------------- internals

  #send(
    action: ControlAction,
    payload: unknown,
    options: { signal?: AbortSignal; event?: Pending['event'] } = {},
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
      const onAbort = () => this.#cancel(id);
      signal.addEventListener('abort', onAbort, { once: true });
      const forget = () => signal.removeEventListener('abort', onAbort);
      result.then(forget, forget);
    }
    return { id, result };
  }

  async #subscribe<E extends ControlEvent>(
    action: 'logs.follow' | 'events.subscribe',
    payload: object,
  ): Promise<Subscription<E>> {
    let started!: () => void;
    const ready = new Promise<void>((resolve) => {
      started = resolve;
    });
    let subscription: Subscription<E> | undefined;
    const { id, result } = this.#send(action, payload, {
      event: (line) => {
        if (line['event'] === 'stream.started') started();
        else subscription?.push(line as E);
      },
    });
    subscription = new Subscription<E>(id, () => this.#cancel(id));
    const sub = subscription;
    result.then(
      () => sub.end(),
      (error: PodkeeperError) => sub.end(error),
    );
    await Promise.race([ready, result]);
    return sub;
  }

  #cancel(id: string): void {
    if (!this.#pending.has(id) || this.#ended) return;
    this.#nextId += 1;
    const cancelId = this.#nextId.toString(36);
    this.#channel.send({ id: cancelId, action: 'cancel', payload: { id } }).catch(() => undefined);
  }

  #onLine(line: unknown): void {
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
    this.events.emit('error', error);
    if (this.#pending.size !== 1) return;
    const [id, pending] = this.#pending.entries().next().value as [string, Pending];
    this.#cancel(id);
    this.#pending.delete(id);
    pending.reject(error);
  }

  /** A line the channel could not read (too long, not UTF-8, not JSON, an inexact number). */
  #onInvalid(bad: InvalidLine): void {
    const code = unreadableLineCode(bad.reason);
    this.#unreadable(bad.id, bad.detail, code, bad.reason, bad.type === undefined, bad.length);
  }

  /**
   * Fails the request a reply it cannot read names; when that was one of its events (not `final`),
   * asks the daemon to cancel it, since it still runs. A reply that names none of ours could belong to any of them: the connection ends, so
   * no call is left waiting for it.
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
      this.#end(new PodkeeperError(code, `${message} The connection is closed.`, { details }));
      return;
    }
    if (!final) this.#cancel(requestId);
    this.#pending.delete(requestId);
    const message = `The reply from ${this.#name} to request ${requestId} cannot be read: ${detail}`;
    pending.reject(new PodkeeperError(code, message, { details }));
  }

  #end(error: PodkeeperError): void {
    if (this.#ended) return;
    this.#ended = error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.reject(error);
    this.#channel.destroy();
    this.#markClosed();
  }
}

function rejected(error: PodkeeperError): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(() => undefined);
  return promise;
}
