/**
 * One Python pod process and its state machine (docs/architecture.md#pod-lifecycle):
 *
 *   starting ──ready──▶ ready ⇄ busy ──stop()──▶ stopping ──exit──▶ stopped
 *      │                  │
 *      └──exit / ready timeout / kill / spawn failed───────────────▶ crashed
 *
 *   drain(): no new requests; stop() once the last one is answered, or at the deadline.
 *
 *   caller ─request()─▶ RequestTable (FIFO, concurrency + pipelining) ─▶ channel ─stdin─▶ runner
 *   caller ◀─result/error── RequestTable (correlate by id) ◀── LineRouter ◀── channel ◀─stdout─ runner
 *
 * The pod never restarts itself: a crash is reported as an `exit` event, and the manager decides.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { PodkeeperError } from '../errors.js';
import { Emitter } from '../events.js';
import { wait } from '../process/group.js';
import type { ReadyMessage } from '../protocol/pod.js';
import { redact } from '../redact.js';
import type { JsonLinesChannel } from '../transport/json-lines.js';
import { describeExit } from './exit-facts.js';
import * as failures from './failures.js';
import { LogBuffer, type PodLogLine } from './log-buffer.js';
import { podChannel, routePodLines } from './pod-channel.js';
import { ReadyWait } from './ready-wait.js';
import { type RequestOptions, RequestTable } from './requests.js';
import { type PodProcess, type ProcessExit, spawnPodProcess, type Where } from './spawn.js';
import { whenSpawnFailed } from './spawn-failure.js';
import { readStderrLines } from './stderr-lines.js';
import { killTree, terminateGroup } from './terminate.js';
import {
  type ExitReason,
  localSpec,
  type PodEvents,
  type PodExit,
  type PodOptions,
  type PodState,
  type ResolvedPodOptions,
  withDefaults,
} from './types.js';

export type { RequestOptions } from './requests.js';
export type { ExitReason, PodEvents, PodExit, PodOptions, PodState } from './types.js';

const silent = pino({ level: 'silent' });

export class Pod {
  readonly id: string;
  readonly recipe: string;
  readonly capability: string;
  readonly events = new Emitter<PodEvents>();
  readonly logs: LogBuffer;
  /** Epoch ms of the spawn, and of the last answered request. */
  readonly startedAt = Date.now();
  lastUsedAt = Date.now();
  /** Monotonic ms (performance.now) of the last answer: what least-recently-used ordering compares. */
  lastUsedMono = performance.now();
  calls = 0;
  readyInfo: ReadyMessage | undefined;
  spawnToReadyMs: number | undefined;
  /** Settles when the process has exited and every request of it was answered. */
  readonly exited: Promise<PodExit>;

  readonly #options: ResolvedPodOptions;
  readonly #log: Logger;
  readonly #process: PodProcess;
  readonly #channel: JsonLinesChannel;
  readonly #requests: RequestTable;
  readonly #spawnedAt = performance.now();
  readonly #ready: ReadyWait;
  #state: PodState = 'starting';
  #exitReason: ExitReason | undefined;
  #killWhy = '';
  /** The daemon's own coded reason for the end (PROTOCOL_MISMATCH), when the process gave none. */
  #failure: PodkeeperError | undefined;
  /** Set by drain(): called once nothing is in flight or queued. */
  #onDrained: (() => void) | undefined;

  constructor(options: PodOptions) {
    this.id = options.id;
    this.recipe = options.recipe;
    this.capability = options.capability;
    this.#options = withDefaults(options);
    this.#log = (options.logger ?? silent).child({ podId: this.id, recipe: this.recipe });
    this.logs = new LogBuffer(this.#options.logLines);
    this.#requests = new RequestTable({
      podId: this.id,
      slots: this.#options.concurrency + this.#options.pipelining,
      maxQueue: this.#options.maxQueue,
      cancelGraceMs: this.#options.cancelGraceMs,
      maxLineLength: this.#options.maxLineLength,
      send: (message) => this.#channel.send(message),
      onSent: () => {
        if (this.#state === 'ready') this.#setState('busy');
      },
      onSettled: () => this.#onSettled(),
      onCancelIgnored: (requestId) => {
        const grace = this.#options.cancelGraceMs / 1000;
        void this.kill('killed', `after request ${requestId} ignored cancel for ${grace} s`);
      },
    });
    this.#process = options.process ?? spawnPodProcess(localSpec(options));
    const { stdout, stdin } = this.#process;
    this.#channel = podChannel(stdout, stdin, this.id, this.#options.maxLineLength);
    routePodLines(this.#channel, {
      podId: this.id,
      maxLineLength: this.#options.maxLineLength,
      requests: this.#requests,
      starting: () => this.#state === 'starting',
      onReady: (ready) => this.#onReady(ready),
      onForeignReady: (theirs) =>
        void this.kill('crashed', 'protocol mismatch', failures.protocolMismatch(theirs, this.where)),
      onLog: (log) => {
        this.#record('pod', log.level, log.message);
        if (this.#state === 'starting') this.#ready.refresh();
      },
      warn: (message) => this.#record('daemon', 'warning', message),
    });
    readStderrLines(this.#process.stderr, (line) => this.#record('stderr', 'info', line));
    this.#ready = new ReadyWait(this.#options.readyTimeoutMs, () => {
      if (this.#state === 'starting') void this.kill('ready-timeout', 'ready timeout');
    });
    const processExited =
      this.pid === undefined ? whenSpawnFailed(this.#process.exited) : this.#process.exited;
    this.exited = processExited.then((exit) => this.#onExit(exit));
    // `pid` is the daemon's own (pino's base): the pod's is `podPid`, so a line has one of each.
    this.#log.info({ podPid: this.pid }, 'pod spawned');
  }

  get state(): PodState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Forked from a zygote: its memory is its tree's private pages (see PodProcess.forked). */
  get forked(): boolean {
    return this.#process.forked === true;
  }

  /** A line of the daemon's own in the pod's log (why it started the way it did, say). */
  note(level: PodLogLine['level'], message: string): void {
    this.#record('daemon', level, message);
  }

  /** Where the pod runs (its launcher, node and host), and whether it still waits for a node. */
  get where(): Where {
    return this.#process.where;
  }

  /** Requests sent to the pod and not yet answered. */
  get inFlight(): number {
    return this.#requests.inFlight;
  }

  /** Requests waiting in the daemon for a slot (or for `ready`). */
  get queued(): number {
    return this.#requests.queued;
  }

  get idle(): boolean {
    const open = this.#state === 'ready' || this.#state === 'busy';
    return open && this.#requests.inFlight === 0 && this.#requests.queued === 0;
  }

  /** Resolves once the pod is ready; rejects with the reason it never became ready. */
  whenReady(): Promise<ReadyMessage> {
    return this.#ready.promise;
  }

  /** Sends one request; resolves with the pod's `result`, rejects with a coded PodkeeperError. */
  request(action: string, payload: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (this.#state !== 'starting' && this.#state !== 'ready' && this.#state !== 'busy') {
      return Promise.reject(failures.podStopping(this.id, this.#state));
    }
    if (this.#onDrained) return Promise.reject(failures.podStopping(this.id, 'draining'));
    this.calls += 1;
    return this.#requests.add(action, payload, options);
  }

  /** Graceful stop: `shutdown` and stdin closed, SIGTERM to the group at half the grace, SIGKILL at the end. */
  stop(): Promise<PodExit> {
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'crashed')
      return this.exited;
    this.#setState('stopping');
    this.#exitReason ??= 'stopped';
    this.#requests.failWaiting(failures.podStopping(this.id, 'stopping'));
    if (this.pid === undefined) return this.exited;
    void terminateGroup(this.#process, this.exited, this.#options.stopGraceMs, () => {
      this.#requests.sendControl('shutdown', undefined);
      this.#channel.end();
    });
    return this.exited;
  }

  /**
   * Stops taking requests, lets the ones it has (in flight and queued) finish within `timeoutMs`,
   * then stops gracefully: what an upgrade does to the old version's pod.
   */
  async drain(timeoutMs: number): Promise<PodExit> {
    const open = this.#state === 'starting' || this.#state === 'ready' || this.#state === 'busy';
    if (open && !this.#onDrained && this.#requests.inFlight + this.#requests.queued > 0) {
      const drained = Promise.withResolvers<void>();
      this.#onDrained = drained.resolve;
      await wait(timeoutMs, Promise.race([drained.promise, this.exited]));
    }
    this.#onDrained ??= () => undefined;
    return this.stop();
  }

  /** Immediate SIGKILL of the whole tree (see terminate.ts); `failure`, the coded error its requests get. */
  kill(reason: ExitReason, why: string, failure?: PodkeeperError): Promise<PodExit> {
    this.#exitReason ??= reason;
    this.#failure ??= failure;
    this.#killWhy ||= why;
    if (this.pid !== undefined) void killTree(this.#process, this.#process.exited);
    return this.exited;
  }

  // ---------------------------------------------------------------- messages from the pod

  #onReady(ready: ReadyMessage): void {
    if (this.#state !== 'starting') return;
    this.#ready.stopTimer();
    this.readyInfo = ready;
    this.spawnToReadyMs = performance.now() - this.#spawnedAt;
    this.lastUsedAt = Date.now();
    this.lastUsedMono = performance.now();
    this.#setState('ready');
    this.#log.info(
      { spawnToReadyMs: Math.round(this.spawnToReadyMs), memoryMB: ready.memoryMB },
      'pod ready',
    );
    this.#ready.resolve(ready);
    this.events.emit('ready', { pod: this, ready, spawnToReadyMs: this.spawnToReadyMs });
    this.#requests.open();
    this.#checkIdle();
  }

  /** Every line a pod says is redacted here, once: its log buffer, stderr tail and events see no secret. */
  #record(source: PodLogLine['source'], level: PodLogLine['level'], text: string): void {
    const message = redact(text);
    const line: PodLogLine = { time: Date.now(), podId: this.id, source, level, message };
    this.logs.push(line);
    this.#log[level === 'warning' ? 'warn' : level]({ source }, message);
    this.events.emit('log', line);
  }

  // ---------------------------------------------------------------- lifecycle

  #setState(to: PodState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.events.emit('state', { pod: this, from, to });
  }

  #onSettled(): void {
    this.lastUsedAt = Date.now();
    this.lastUsedMono = performance.now();
    if (this.#requests.inFlight === 0 && this.#state === 'busy') this.#setState('ready');
    if (this.#onDrained && this.#requests.inFlight + this.#requests.queued === 0) this.#onDrained();
    this.events.emit('settled', this);
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.idle) this.events.emit('idle', { pod: this });
  }

  async #onExit({ exitCode, signal, spawnError, failure }: ProcessExit): Promise<PodExit> {
    this.#ready.stopTimer();
    if (this.pid !== undefined) this.#process.signal('SIGKILL');
    const { facts, reason, error } = await describeExit({
      podId: this.id,
      recipe: this.recipe,
      pid: this.pid,
      exitCode,
      signal,
      spawnError,
      failure: failure ?? this.#failure,
      stderr: this.#process.stderr,
      logs: this.logs,
      spawnedAt: this.#spawnedAt,
      endedBecause: this.#exitReason,
      readyTimeoutMs: this.#options.readyTimeoutMs,
      killWhy: this.#killWhy,
    });
    this.#setState(reason === 'stopped' ? 'stopped' : 'crashed');
    this.#requests.failAll(error);
    this.#ready.reject(error);
    this.#channel.destroy();
    this.#log[reason === 'stopped' ? 'info' : 'warn']({ exitCode, signal, reason }, 'pod exited');
    const exit: PodExit = { pod: this, reason, facts, error };
    this.events.emit('exit', exit);
    return exit;
  }
}
