import { pino } from 'pino';
import type { EnvironmentStatus, Environments, GcResult, PreparedEnv } from '../env/envs.js';
import { PodkeeperError } from '../errors.js';
import { Emitter } from '../events.js';
import type { PodLogLine } from '../pod/log-buffer.js';
import { type LoadedRecipe, RecipeCatalog } from '../recipes/catalog.js';
import { type CallRouting, routeCall } from './call-routing.js';
import { swapCatalog, warmInBackground } from './catalog-swap.js';
import type { CallFinished, ManagerEvent, PodInfo } from './events.js';
import { assembleParts, type ManagerParts, started } from './manager-parts.js';
import type { MemoryBudget, MemoryReport } from './memory-budget.js';
import { type PodManagerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import type { CallOptions } from './pod-call.js';
import { PodStarter } from './pod-starter.js';
import {
  fatalRecipes,
  podInfo,
  recentLogs,
  snapshotPods,
  type ZygoteView,
  zygoteViews,
} from './pod-views.js';
import { supervisorOf } from './recipe-supervisor.js';
import type { SmokeStartResult } from './smoke-start.js';
import { loadCatalog, startManager } from './startup.js';
import { StopReasons } from './stop-reasons.js';
import type { Supervisor } from './supervisor.js';
import { type PodSelector, Supervisors } from './supervisors.js';
import type { Zygotes } from './zygotes.js';

export type { CallOptions, PodSelector };

export class PodManager {
  readonly options: ResolvedOptions;
  readonly events = new Emitter<{ event: ManagerEvent }>();
  /** Every call's duration and outcome, once it is answered (for metrics). */
  readonly calls = new Emitter<{ finished: CallFinished }>();
  readonly #log;
  readonly #supervisors = new Supervisors();
  readonly #budget: MemoryBudget;
  readonly #zygotes: Zygotes | undefined;
  readonly #init: Promise<void>;
  #catalog = new RecipeCatalog([]);
  #envs: Environments | undefined;
  /** Chooses each recipe's launcher and starts its pods; set once #init has settled. */
  #starter: PodStarter | undefined;
  #initialized = false;
  #closing = false;
  readonly #stopReasons = new StopReasons();
  /** The manager's parts as its helpers see them (manager-parts.ts). */
  readonly #parts: ManagerParts;
  readonly #routing: CallRouting = {
    accepting: () => this.#initialized && !this.#closing,
    get: (target) => this.#supervisors.get(target),
    supervisor: (target) => this.#supervisor(target),
    resolveName: (target) => this.#resolve(target).recipe.name,
    emit: (event) => this.#emit(event),
    observed: () => this.calls.has('finished'),
    finished: (call) => this.calls.emit('finished', call),
  };

  /** `environment` gives defaults for options left unset (`PODKEEPER_HOME`, `PODKEEPER_PYTHON`…). */
  constructor(options: PodManagerOptions = {}, environment: NodeJS.ProcessEnv = process.env) {
    this.options = resolveOptions(options, environment);
    this.#log = (this.options.logger ?? pino({ level: 'silent' })).child({ component: 'manager' });
    const assembled = assembleParts(this.options, {
      log: this.#log,
      supervisors: this.#supervisors,
      stopReasons: this.#stopReasons,
      environments: () => this.#environments(),
      starter: () => this.#starter,
      isClosing: () => this.#closing,
      startZygote: (recipe) => this.startZygote(recipe),
      supervisor: (recipe) => this.#supervisor(recipe),
      emit: (event) => this.#emit(event),
    });
    this.#zygotes = assembled.zygotes;
    this.#budget = assembled.budget;
    this.#parts = assembled.parts;
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
    return routeCall(target, input, options, this.#routing);
  }

  /** The recipe a target (name or capability) resolves to; `UNKNOWN_TARGET` when none. */
  async recipeFor(target: string): Promise<LoadedRecipe> {
    await this.#init;
    return this.#resolve(target);
  }

  /** True when a call to this recipe name would go straight to a running pod (no spawn, no env build). */
  isWarm(recipe: string): boolean {
    return this.#supervisors.get(recipe)?.hasLivePod() ?? false;
  }

  /** Starts the target's pod (clearing a fatal state) and waits until it is ready. */
  async start(target: string): Promise<PodInfo> {
    const supervisor = await this.#supervisor(target);
    supervisor.clearFailures();
    this.#envs?.forget(supervisor.loaded);
    const pod = await supervisor.acquire();
    await pod.whenReady();
    return podInfo(this.#supervisors, pod, undefined);
  }

  /**
   * Stops the selected pods (a pod id: that replica only); resolves with what they were just before
   * they stopped. A warm pool stopped this way is not refilled until the recipe is called or started.
   */
  async stop(selector: PodSelector): Promise<PodInfo[]> {
    await this.#init;
    const chosen = this.#supervisors.select(selector, (target) => this.#resolve(target).recipe.name);
    const pods = chosen
      .flatMap((s) => s.pods)
      .filter((pod) => !('podId' in selector) || pod.id === selector.podId);
    const infos = pods.map((pod) => podInfo(this.#supervisors, pod, undefined));
    for (const pod of pods) this.#stopReasons.note(pod, { why: 'stopped' });
    if ('podId' in selector) await Promise.all(pods.map((pod) => pod.stop()));
    else await Promise.all(chosen.map((supervisor) => supervisor.stop()));
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
    return snapshotPods(this.#supervisors, this.#budget);
  }

  /** Recent log lines of a recipe's current pods (every replica) or of one pod, oldest first. */
  async logs(selector: { target: string } | { podId: string }, lines = 100): Promise<PodLogLine[]> {
    await this.#init;
    const pods =
      'podId' in selector
        ? this.#supervisors.livePods().filter((p) => p.id === selector.podId)
        : (this.#supervisors.get(this.#resolve(selector.target).recipe.name)?.pods ?? []);
    return recentLogs(pods, lines);
  }

  /** The summed, measured RSS of all pods and the budget, MB (see {@link snapshot}). */
  async memory(): Promise<MemoryReport> {
    return (await this.snapshot()).memory;
  }

  /** The zygotes running now, each with its memory as the budget counts it. */
  async zygotes(): Promise<ZygoteView[]> {
    return zygoteViews(this.#zygotes?.running() ?? [], this.#budget);
  }

  /** The recipes in the POD_FATAL state: how many crashes, when they are tried again, the last stderr lines. */
  fatalRecipes(): { recipe: string; crashes: number; retryInMs: number; stderrTail: string[] }[] {
    return fatalRecipes(this.#supervisors);
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
    const starter = this.#podStarter();
    const local = this.#catalog.list().filter((loaded) => !starter.launchers.isRemote(loaded.recipe.name));
    return this.#environments().gc(local, starter.envsInUse());
  }

  /**
   * Re-reads the recipe folders (after an install, an upgrade or a remove). A recipe that is gone, or
   * now served from another folder, is swapped out at once (the next call spawns from the new folder)
   * and its old pod drains: it finishes its calls, at most `drainTimeout`, then stops. Resolves once
   * the old pods have stopped.
   */
  async reloadRecipes(): Promise<void> {
    await this.#init;
    const catalog = await loadCatalog(this.options, this.#log);
    const before = this.#catalog;
    this.#catalog = catalog;
    await swapCatalog(before, catalog, this.#parts);
  }

  /** Builds (or checks) the env a recipe's pods run in; an install does this before its smoke start. */
  async prepareEnv(loaded: LoadedRecipe): Promise<PreparedEnv> {
    await this.#init;
    return this.#podStarter().prepareEnv(loaded);
  }

  /**
   * An install's smoke start: spawns one pod of `loaded` (which need not be in the catalog), waits
   * until it is ready, stops it. Rejects with the pod's error (crash, ready timeout) or `CANCELLED`.
   */
  async smokeStart(loaded: LoadedRecipe, options: { signal?: AbortSignal } = {}): Promise<SmokeStartResult> {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new pods.');
    await this.#init;
    return this.#podStarter().smokeStart(loaded, options.signal);
  }

  /**
   * Starts the zygote of a recipe that declares `preload` (its env built first) and resolves with
   * its pid once it can fork pods; undefined when the recipe has none or it failed to start (the
   * daemon log says why). Pods start from it from then on; without this, the first pod starts it.
   */
  async startZygote(target: string): Promise<number | undefined> {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new pods.');
    await this.#init;
    return this.#podStarter().startZygote(this.#resolve(target));
  }

  /** Stops every pod and leaves no process behind. Calls made afterwards fail with `SHUTTING_DOWN`. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#init.catch(() => undefined);
    await this.#envs?.close();
    await this.#starter?.stopSmokeStarts();
    for (const pod of this.#supervisors.livePods()) this.#stopReasons.note(pod, { why: 'shutdown' });
    await this.#supervisors.stopAll();
    await Promise.all(this.#supervisors.livePods().map((pod) => pod.exited));
    await this.#zygotes?.close();
  }

  // ---------------------------------------------------------------- internals

  async #initialize(): Promise<void> {
    const { catalog, environments } = await startManager(this.options, this.#log, (event) =>
      this.#emit(event),
    );
    this.#catalog = catalog;
    this.#initialized = true;
    this.#envs = environments;
    this.#starter = new PodStarter(this.#parts);
    for (const loaded of catalog.list()) warmInBackground(loaded, this.#parts);
  }

  #environments(): Environments {
    return started(this.#envs);
  }

  /** Only after #init has settled. */
  #resolve(target: string): LoadedRecipe {
    return this.#catalog.resolve(target);
  }

  async #supervisor(target: string): Promise<Supervisor> {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new calls.');
    await this.#init;
    return supervisorOf(this.#resolve(target), this.#supervisors, this.#parts);
  }

  #podStarter(): PodStarter {
    return started(this.#starter);
  }

  #emit(event: ManagerEvent): void {
    this.events.emit('event', event);
  }
}
