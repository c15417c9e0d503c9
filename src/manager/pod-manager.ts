/**
 * PodManager: which pod serves a request, spawn on demand, idle reclaim, memory budget, restart
 * policy (DESIGN §1, §3). It composes the pieces; each piece lives in its own module:
 *
 *   call(target) ─catalog.resolve─▶ Supervisor (one per recipe) ─acquire─▶ Environments.prepare
 *                                        │                               ─▶ MemoryBudget.reserve ─▶ new Pod
 *                                        └── idle timer / restart policy ◀── pod events ◀───────┘
 *
 * The env is prepared (built if need be) before the memory-budget turn, so a long build never holds
 * up other recipes' spawns.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { type EnvironmentStatus, Environments, type GcResult, type PreparedEnv } from '../env/envs.js';
import { insideContainer } from '../env/mode.js';
import { resolvePython } from '../env/python.js';
import { PodkeeperError } from '../errors.js';
import { Emitter } from '../events.js';
import { Launchers } from '../launch/launchers.js';
import { LocalLauncher } from '../launch/local.js';
import type { Prepared } from '../launch/types.js';
import { BUILTIN_RECIPES_DIR } from '../paths.js';
import type { PodLogLine } from '../pod/log-buffer.js';
import type { Pod } from '../pod/pod.js';
import type { RequestEvent } from '../protocol/pod.js';
import { type LoadedRecipe, RecipeCatalog, type RecipeSource } from '../recipes/catalog.js';
import { redact } from '../redact.js';
import {
  type CallFinished,
  type ManagerEvent,
  type PodInfo,
  podExitEvents,
  type StopReason,
} from './events.js';
import { createMemorySampler } from './memory.js';
import { MemoryBudget, type MemoryReport } from './memory-budget.js';
import { type PodManagerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { createPod } from './pod-factory.js';
import { describePod } from './pod-info.js';
import { watchPlacement } from './remote-contention.js';
import { RestartPolicy } from './restart-policy.js';
import { type SmokeStartResult, smokeStart } from './smoke-start.js';
import { Supervisor } from './supervisor.js';
import { type PodSelector, Supervisors } from './supervisors.js';

export type { PodSelector };

export interface CallOptions {
  /** Recipe action. @default "process" */
  action?: string;
  /** Seconds without an answer or progress before `TIMEOUT`. @default the recipe's `timeout`, else none */
  timeout?: number;
  /** Seconds the pod stays after this call: 0 = stop after this reply, -1 = never (Ollama's keep_alive). */
  keepAlive?: number;
  signal?: AbortSignal;
  /** The call's progress and chunk events, as they arrive. */
  onEvent?: (event: RequestEvent) => void;
}

export class PodManager {
  readonly options: ResolvedOptions;
  readonly events = new Emitter<{ event: ManagerEvent }>();
  /** Every call's duration and outcome, once it is answered (for metrics). */
  readonly calls = new Emitter<{ finished: CallFinished }>();
  readonly #log;
  readonly #supervisors = new Supervisors();
  readonly #budget: MemoryBudget;
  readonly #init: Promise<void>;
  #catalog = new RecipeCatalog([]);
  #envs: Environments | undefined;
  /** Which launcher starts a recipe's pods (local unless the placement map says otherwise). */
  #launchers: Launchers | undefined;
  /** The env hash each live pod runs from (venv mode). */
  readonly #podEnvs = new Map<string, string>();
  #podCount = 0;
  #initialized = false;
  #closing = false;
  /** Pods of install smoke starts (`trial`), outside any supervisor. */
  readonly #trials = new Set<Pod>();
  /** Why a pod is being stopped, for its `pod.stopped` event (the first reason given wins). */
  readonly #stopReasons = new WeakMap<Pod, StopReason>();

  constructor(options: PodManagerOptions = {}) {
    this.options = resolveOptions(options);
    this.#log = (this.options.logger ?? pino({ level: 'silent' })).child({ component: 'manager' });
    this.#budget = new MemoryBudget(
      this.options.maxMemoryMB,
      this.options.memoryWait * 1000,
      createMemorySampler(),
      {
        livePods: () => this.#supervisors.livePods(),
        estimateMB: (recipe) =>
          this.#launchers?.localEstimateMB(recipe, this.#supervisors.estimateMB(recipe)) ??
          this.#supervisors.estimateMB(recipe),
        evict: (pod, forRecipe) => this.#evict(pod, forRecipe),
      },
    );
    this.#init = this.#initialize();
    this.#init.catch(() => undefined);
  }

  /** Builds a manager and waits until its recipes and interpreter are known. */
  static async create(options: PodManagerOptions = {}): Promise<PodManager> {
    const manager = new PodManager(options);
    await manager.#init;
    return manager;
  }

  async recipes(): Promise<LoadedRecipe[]> {
    await this.#init;
    return this.#catalog.list();
  }

  /** Calls a recipe (by name or capability), spawning its pod when none is running. */
  call(target: string, input: unknown, options: CallOptions = {}): Promise<unknown> {
    const started = performance.now();
    // Hot path: a recipe named directly whose pod is up is called without a single await.
    const supervisor = this.#initialized && !this.#closing ? this.#supervisors.get(target) : undefined;
    const pod = supervisor?.livePod();
    const answer =
      supervisor && pod
        ? this.#request(supervisor, pod, input, options)
        : this.#callAfterSpawn(target, input, options);
    const finished = (outcome: string) =>
      this.calls.emit('finished', { recipe: this.#nameOf(target), ms: performance.now() - started, outcome });
    answer.then(
      () => finished('ok'),
      (error: unknown) => finished(error instanceof PodkeeperError ? error.code : 'INTERNAL_ERROR'),
    );
    return answer;
  }

  /** The recipe name a target resolves to, or the target as given when it resolves to none. */
  #nameOf(target: string): string {
    if (this.#supervisors.get(target)) return target;
    try {
      return this.#resolve(target).recipe.name;
    } catch {
      return target;
    }
  }

  async #callAfterSpawn(target: string, input: unknown, options: CallOptions): Promise<unknown> {
    const supervisor = await this.#supervisor(target);
    for (let attempt = 0; ; attempt++) {
      const pod = await supervisor.acquire(options.signal);
      if (pod.state === 'stopping' && attempt < 3) continue;
      return this.#request(supervisor, pod, input, options);
    }
  }

  #request(supervisor: Supervisor, pod: Pod, input: unknown, options: CallOptions): Promise<unknown> {
    const timeout = options.timeout ?? supervisor.loaded.recipe.timeout;
    if (options.keepAlive !== undefined) supervisor.keepAlive = options.keepAlive;
    const action = options.action ?? 'process';
    return pod
      .request(action, input, {
        timeoutMs: timeout === undefined ? undefined : timeout * 1000,
        signal: options.signal,
        onEvent: options.onEvent,
      })
      .catch((error: unknown) => {
        this.#logTraceback(pod, action, error);
        throw error;
      });
  }

  /** A handler's traceback goes to the recipe's logs too: the caller may not print it. */
  #logTraceback(pod: Pod, action: string, error: unknown): void {
    if (!(error instanceof PodkeeperError)) return;
    const traceback = error.details['traceback'];
    if (typeof traceback !== 'string' || traceback.trim() === '') return;
    this.#emit({
      event: 'pod.log',
      podId: pod.id,
      recipe: pod.recipe,
      time: Date.now(),
      source: 'daemon',
      level: 'error',
      message: redact(`call ${action} failed: ${error.code}: ${error.message}\n${traceback.trimEnd()}`),
    });
  }

  /** The recipe a target (name or capability) resolves to; `UNKNOWN_TARGET` when none. */
  async recipeFor(target: string): Promise<LoadedRecipe> {
    await this.#init;
    return this.#resolve(target);
  }

  /** True when a call to this recipe name would go straight to a running pod (no spawn, no env build). */
  isWarm(recipe: string): boolean {
    return this.#supervisors.get(recipe)?.livePod() !== undefined;
  }

  /** Starts the target's pod (clearing a fatal state) and waits until it is ready. */
  async start(target: string): Promise<PodInfo> {
    const supervisor = await this.#supervisor(target);
    supervisor.clearFailures();
    this.#envs?.forget(supervisor.loaded);
    const pod = await supervisor.acquire();
    await pod.whenReady();
    return this.#info(pod, undefined);
  }

  /** Stops the selected pods; resolves with what they were just before they stopped. */
  async stop(selector: PodSelector): Promise<PodInfo[]> {
    await this.#init;
    const chosen = this.#supervisors.select(selector, (target) => this.#resolve(target).recipe.name);
    const infos = chosen.flatMap((s) => (s.pod ? [this.#info(s.pod, undefined)] : []));
    for (const s of chosen) this.#noteStop(s.pod, { why: 'stopped' });
    await Promise.all(chosen.map((supervisor) => supervisor.stop()));
    return infos;
  }

  /** Every live pod, with its measured RSS (whole process tree). */
  async list(): Promise<PodInfo[]> {
    return (await this.snapshot()).pods;
  }

  /**
   * Every live pod and the memory budget, from one measurement. When the pods cannot be measured
   * (the daemon is out of file descriptors) `rssMB` and `usedMB` are null and `warning` says why.
   */
  async snapshot(): Promise<{ pods: PodInfo[]; memory: MemoryReport }> {
    await this.#init;
    const { usage, warning } = await this.#budget.sample();
    const pods = this.#supervisors.livePods().map((pod) => this.#info(pod, usage?.get(pod.id)));
    const usedMB = usage ? Math.round([...usage.values()].reduce((a, b) => a + b, 0)) : null;
    return { pods, memory: { usedMB, maxMB: this.#budget.maxMB, ...(warning ? { warning } : {}) } };
  }

  /** Recent log lines of a recipe's or a pod's current pod, oldest first. */
  async logs(selector: { target: string } | { podId: string }, lines = 100): Promise<PodLogLine[]> {
    await this.#init;
    const pod =
      'podId' in selector
        ? this.#supervisors.livePods().find((p) => p.id === selector.podId)
        : this.#supervisors.get(this.#resolve(selector.target).recipe.name)?.pod;
    return pod ? pod.logs.tail(lines) : [];
  }

  /** The summed, measured RSS of all pods and the budget, MB (see {@link snapshot}). */
  async memory(): Promise<MemoryReport> {
    return (await this.snapshot()).memory;
  }

  /** The recipes in the POD_FATAL state: how many crashes, when they are tried again, the last stderr lines. */
  fatalRecipes(): { recipe: string; crashes: number; retryInMs: number; stderrTail: string[] }[] {
    return this.#supervisors.all().flatMap((supervisor) => {
      const fatal = supervisor.fatalState();
      return fatal ? [{ recipe: supervisor.name, ...fatal }] : [];
    });
  }

  /** Env mode, installer (uv and where it came from, or the pip fallback) and the envs on disk. */
  async environment(): Promise<EnvironmentStatus> {
    await this.#init;
    return this.#environments().status(this.#catalog.list());
  }

  /** Removes the envs no known recipe needs; never one a live pod or a build uses. */
  async gc(): Promise<GcResult> {
    await this.#init;
    // Only the envs that local recipes need: a recipe placed elsewhere has its env on its node.
    const local = this.#catalog.list().filter((loaded) => !this.#launchers?.isRemote(loaded.recipe.name));
    return this.#environments().gc(local, this.#podEnvs.values());
  }

  /**
   * Re-reads the recipe folders (after an install, an upgrade or a remove). A recipe that is gone, or
   * now served from another folder, is swapped out at once (the next call spawns from the new folder)
   * and its old pod drains: it finishes its calls, at most `drainTimeout`, then stops. Resolves once
   * the old pods have stopped.
   */
  async reloadRecipes(): Promise<void> {
    await this.#init;
    const catalog = await RecipeCatalog.load(this.#recipeSources());
    for (const problem of catalog.problems) this.#log.warn({ file: problem.file }, problem.error.message);
    this.#catalog = catalog;
    await this.#supervisors.dropWhere((s) => {
      const stale = catalog.get(s.name)?.dir !== s.loaded.dir;
      if (stale) this.#noteStop(s.pod, { why: 'upgraded' });
      return stale;
    }, this.options.drainTimeout * 1000);
  }

  /** Builds (or checks) the env a recipe's pods run in; an install does this before its smoke start. */
  async prepareEnv(loaded: LoadedRecipe): Promise<PreparedEnv> {
    await this.#init;
    const launcher = this.#launcherFor(loaded);
    if (launcher.locality === 'remote') {
      // No local env for a recipe placed elsewhere: only what its launcher needs here.
      const { executable } = await launcher.prepare(loaded);
      return { kind: 'remote', executable: executable ?? launcher.name };
    }
    return this.#environments().prepare(loaded);
  }

  /**
   * An install's smoke start: spawns one pod of `loaded` (which need not be in the catalog), waits
   * until it is ready, stops it. Rejects with the pod's error (crash, ready timeout) or `CANCELLED`.
   */
  async trial(loaded: LoadedRecipe, options: { signal?: AbortSignal } = {}): Promise<SmokeStartResult> {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new pods.');
    await this.#init;
    const prepared = await this.#prepare(loaded);
    const pod = await this.#budget.reserve(loaded.recipe.name, () => this.#spawn(prepared));
    this.#trials.add(pod);
    void pod.exited.then(() => this.#trials.delete(pod));
    return smokeStart(pod, loaded.recipe.name, options.signal);
  }

  /** Stops every pod and leaves no process behind. Calls made afterwards fail with `SHUTTING_DOWN`. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#init.catch(() => undefined);
    await this.#envs?.close();
    await Promise.all([...this.#trials].map((pod) => pod.stop()));
    for (const pod of this.#supervisors.livePods()) this.#noteStop(pod, { why: 'shutdown' });
    await this.#supervisors.stopAll();
    await Promise.all(this.#supervisors.livePods().map((pod) => pod.exited));
  }

  // ---------------------------------------------------------------- internals

  /** The recipe path, then the installed recipes, then the built-in ones: earlier ones shadow later ones. */
  #recipeSources(): RecipeSource[] {
    const sources: RecipeSource[] = this.options.recipePath.map((dir) => ({ dir, builtin: false }));
    sources.push({ dir: join(this.options.home, 'recipes'), builtin: false, installed: true });
    if (this.options.builtinRecipes) sources.push({ dir: BUILTIN_RECIPES_DIR, builtin: true });
    return sources;
  }

  async #initialize(): Promise<void> {
    const [catalog, python] = await Promise.all([
      RecipeCatalog.load(this.#recipeSources()),
      resolvePython(this.options.python),
    ]);
    for (const problem of catalog.problems) this.#log.warn({ file: problem.file }, problem.error.message);
    this.#catalog = catalog;
    const options = this.options;
    this.#initialized = true;
    this.#envs = new Environments({
      home: options.home,
      mode: options.envMode,
      base: python,
      uv: options.uv,
      wheelhouse: options.wheelhouse,
      pythonDownloads: options.pythonDownloads,
      timeoutMs: options.envBuildTimeout * 1000,
      env: { ...process.env, ...options.env },
      logger: this.#log,
      emit: (event) => this.#emit(event),
      container: insideContainer(),
    });
    this.#launchers = Launchers.fromConfig(
      new LocalLauncher(() => this.#environments()),
      options.launchers,
      options.placement,
      { home: options.home, uv: options.uv ?? 'uv', python: python.executable, logger: this.#log },
    );
  }

  /** Only after #init has settled. */
  #environments(): Environments {
    if (!this.#envs)
      throw new PodkeeperError('INVALID_STATE', 'The pod manager failed to start; see its first error.');
    return this.#envs;
  }

  /** Only after #init has settled. */
  #resolve(target: string): LoadedRecipe {
    return this.#catalog.resolve(target);
  }

  async #supervisor(target: string): Promise<Supervisor> {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new calls.');
    await this.#init;
    const loaded = this.#resolve(target);
    let supervisor = this.#supervisors.get(loaded.recipe.name);
    if (!supervisor) {
      const seat: Supervisor = new Supervisor(loaded, RestartPolicy.fromSeconds(this.options.restart), {
        spawn: async (recipe) => {
          const prepared = await this.#prepare(recipe);
          return this.#budget.reserve(recipe.recipe.name, () => {
            // An install replaced or removed this recipe while its pod was on the way.
            if (this.#supervisors.get(recipe.recipe.name) !== seat) {
              throw new PodkeeperError(
                'UNKNOWN_TARGET',
                `Recipe "${recipe.recipe.name}" was replaced or removed while its pod was starting; call it again.`,
                { details: { target: recipe.recipe.name } },
              );
            }
            return this.#spawn(prepared);
          });
        },
        onExit: (_, exit, fatal) => {
          const reason = this.#stopReasons.get(exit.pod);
          if (exit.reason === 'stopped' && reason)
            this.#log.info({ podId: exit.pod.id, recipe: exit.pod.recipe, ...reason }, 'pod stopped');
          for (const event of podExitEvents(exit, fatal, reason)) this.#emit(event);
        },
        onReclaim: (_, pod, idleSeconds) => {
          this.#noteStop(pod, idleSeconds === 0 ? { why: 'keepAlive' } : { why: 'idle', idleSeconds });
          this.#emit({ event: 'pod.reclaimed', podId: pod.id, recipe: pod.recipe, idleSeconds });
        },
        idleTimeout: this.options.idleTimeout,
        isClosing: () => this.#closing,
      });
      supervisor = seat;
      this.#supervisors.add(supervisor);
    }
    return supervisor;
  }

  /** What the recipe's launcher needs before a start: the local env built or reused, or a check. */
  #prepare(loaded: LoadedRecipe): Promise<Prepared> {
    return this.#launcherFor(loaded).prepare(loaded);
  }

  #launcherFor(loaded: LoadedRecipe) {
    if (!this.#launchers)
      throw new PodkeeperError('INVALID_STATE', 'The pod manager failed to start; see its first error.');
    return this.#launchers.for(loaded.recipe.name);
  }

  #spawn(prepared: Prepared): Pod {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new pods.');
    const { loaded, env } = prepared;
    this.#podCount += 1;
    const id = `${loaded.recipe.name}-${this.#podCount}`;
    const launcher = this.#launcherFor(loaded);
    const pod = createPod(id, launcher, prepared, this.options, (event) => this.#emit(event));
    watchPlacement(pod, {
      livePods: () => this.#supervisors.livePods(),
      reclaim: (victim, forRecipe) => this.#evict(victim, forRecipe),
    });
    if (env?.hash) {
      this.#podEnvs.set(id, env.hash);
      pod.events.on('exit', () => this.#podEnvs.delete(id));
    }
    return pod;
  }

  #info(pod: Pod, rssMB: number | undefined): PodInfo {
    const seat = this.#supervisors.get(pod.recipe);
    return describePod(
      pod,
      rssMB,
      seat && { restarts: seat.restarts, reclaimInSeconds: seat.reclaimInSeconds(pod) },
    );
  }

  /** Stops `pod` to make room for a pod of `forRecipe`: local memory, or a contended remote resource. */
  async #evict(pod: Pod, forRecipe: string): Promise<void> {
    this.#emit({ event: 'pod.evicted', podId: pod.id, recipe: pod.recipe });
    this.#stopReasons.set(pod, { why: 'evicted', for: forRecipe });
    await pod.stop();
  }

  #noteStop(pod: Pod | undefined, reason: StopReason): void {
    if (pod && !this.#stopReasons.has(pod)) this.#stopReasons.set(pod, reason);
  }

  #emit(event: ManagerEvent): void {
    this.events.emit('event', event);
  }
}
