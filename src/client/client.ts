/**
 * A control-protocol client over any pair of streams (a Unix socket, or a spawned daemon's stdio),
 * on the same JsonLinesChannel the daemon uses. No reconnect: when the connection ends, every
 * request in flight rejects with `CHANNEL_CLOSED` and the client is done.
 * The typed methods live here; the requests in flight, and how each line of the daemon reaches
 * its request, in request-table.ts.
 */
import type { Readable, Writable } from 'node:stream';
import { PodkeeperError } from '../errors.js';
import { Emitter } from '../events.js';
import type { ControlAction, ControlPayloadInput, EventName } from '../protocol/control.js';
import type { ControlEvent } from '../protocol/control-replies.js';
import type {
  AvailableRecipe,
  ControlResult,
  GcResultWire,
  LogLine,
  PodInfoWire,
  RecipeSummary,
  StatusResult,
} from '../protocol/control-results.js';
import { JsonLinesChannel } from '../transport/json-lines.js';
import { ClientRequestTable } from './request-table.js';
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

export interface ClientEvents extends Record<string, unknown> {
  /** An error reply from the daemon that names no request (`id: null`). */
  error: PodkeeperError;
}

export class PodkeeperClient {
  /** Settles once the connection has ended, for whatever reason. */
  readonly closed: Promise<void>;
  /** 'error': what the daemon reported about a line of ours it could not read at all (`id: null`). */
  readonly events = new Emitter<ClientEvents>();
  readonly #requests: ClientRequestTable;
  readonly #name: string;
  readonly #onClose: (() => Promise<void>) | undefined;
  #closing: Promise<void> | undefined;

  constructor(input: Readable, output: Writable, options: ClientOptions = {}) {
    this.#name = options.name ?? 'the daemon';
    this.#onClose = options.onClose;
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    const channel = new JsonLinesChannel(input, output, {
      maxLineLength: options.maxLineLength,
      name: this.#name,
      announceFrames: true, // answers may carry bytes as frames (docs/protocol.md#bytes)
    });
    const requests = new ClientRequestTable(channel, this.#name, {
      onUnnamedError: (error) => this.events.emit('error', error),
      onEnd: () => closed.resolve(),
    });
    this.#requests = requests;
    channel.onMessage((line) => requests.onLine(line));
    channel.onInvalid((bad) => requests.onInvalid(bad));
    channel.onClose(() =>
      requests.end(new PodkeeperError('CHANNEL_CLOSED', `The connection to ${this.#name} was closed.`)),
    );
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.#requests.size;
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
    const { id, result } = this.#requests.send('call', payload, {
      signal: options.signal,
      event: (line) => {
        const event = toCallEvent(line);
        if (!event) return;
        options.onEvent?.(event);
        if (handle) handle.push(event);
        else early.push(event);
      },
    });
    handle = new CallHandle<T>(id, result as Promise<T>, () => this.#requests.cancel(id));
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
    const { result } = this.#requests.send('recipes.install', payload, {
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
    return this.#requests.send(action, payload, options).result as Promise<ControlResult<A>>;
  }

  /** Ends the connection; requests in flight reject with `CHANNEL_CLOSED` (the daemon cancels them). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#requests.end(
        new PodkeeperError('CHANNEL_CLOSED', `The client closed its connection to ${this.#name}.`),
      );
      await this.#onClose?.();
    })();
    return this.#closing;
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
    const { id, result } = this.#requests.send(action, payload, {
      event: (line) => {
        if (line['event'] === 'stream.started') started();
        else subscription?.push(line as E);
      },
    });
    subscription = new Subscription<E>(id, () => this.#requests.cancel(id));
    const sub = subscription;
    result.then(
      () => sub.end(),
      (error: PodkeeperError) => sub.end(error),
    );
    await Promise.race([ready, result]);
    return sub;
  }
}
