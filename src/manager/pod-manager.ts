import { pino } from 'pino';
import type { EnvironmentStatus, Environments, GcResult, PreparedEnv } from '../env/envs.js';
import { PodkeeperError } from '../errors.js';
import { Emitter } from '../events.js';
import { Launchers } from '../launch/launchers.js';
import { LocalLauncher } from '../launch/local.js';
import type { Prepared } from '../launch/types.js';
import type { PodLogLine } from '../pod/log-buffer.js';
import type { Pod } from '../pod/pod.js';
import { type LoadedRecipe, RecipeCatalog } from '../recipes/catalog.js';
import type { CallFinished, ManagerEvent, PodInfo } from './events.js';
import { createMemorySampler } from './memory.js';
import { MemoryBudget, type MemoryReport } from './memory-budget.js';
import { type PodManagerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type CallOptions, requestOn } from './pod-call.js';
import { createPod, podEnvironment } from './pod-factory.js';
import { describePod } from './pod-info.js';
import { superviseRecipe } from './recipe-supervisor.js';
import { watchPlacement } from './remote-contention.js';
import { awaitReadyThenStop, type SmokeStartResult } from './smoke-start.js';
import { loadCatalog, startManager } from './startup.js';
import { StopReasons } from './stop-reasons.js';
import type { Supervisor } from './supervisor.js';
import { type PodSelector, Supervisors } from './supervisors.js';
import { Zygotes } from './zygotes.js';

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
  /** Which launcher starts a recipe's pods (local unless the placement map says otherwise). */
  #launchers: Launchers | undefined;
  /** The env hash each live pod runs from (venv mode). */
  readonly #podEnvs = new Map<string, string>();
  #podCount = 0;
  #initialized = false;
  #closing = false;
  /** Pods of install smoke starts, outside any supervisor. */
  readonly #smokeStarts = new Set<Pod>();
  readonly #stopReasons = new StopReasons();

  /** `environment` gives defaults for options left unset (`PODKEEPER_HOME`, `PODKEEPER_PYTHON`…). */
  constructor(options: PodManagerOptions = {}, environment: NodeJS.ProcessEnv = process.env) {
    this.options = resolveOptions(options, environment);
    this.#log = (this.options.logger ?? pino({ level: 'silent' })).child({ component: 'manager' });
    const resolved = this.options;
    this.#zygotes = resolved.zygotes
      ? new Zygotes({
          logger: this.#log,
          idleTimeout: resolved.idleTimeout,
          environment: (id, loaded, env) => podEnvironment(id, loaded, env, resolved),
        })
      : undefined;
    this.#budget = new MemoryBudget(
      this.options.maxMemoryMB,
      this.options.memoryWait * 1000,
      createMemorySampler(),
      {
        livePods: () => this.#supervisors.livePods(),
        estimateMB: (recipe) =>
          this.#launchers?.localEstimateMB(recipe, this.#supervisors.estimateMB(recipe)) ??
          this.#supervisors.estimateMB(recipe),
        zygotes: () => this.#zygotes?.running() ?? [],
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
    const pod = supervisor?.podForCall();
    const answer =
      supervisor && pod
        ? requestOn(supervisor, pod, input, options, (event) => this.#emit(event))
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
      return requestOn(supervisor, pod, input, options, (event) => this.#emit(event));
    }
  }

  /** The recipe a target (name or capability) resolves to; `UNKNOWN_TARGET` when none. */
  async recipeFor(target: string): Promise<LoadedRecipe> {
    await this.#init;
    return this.#resolve(target);
  }

  /** True when a call to this recipe name would go straight to a running pod (no spawn, no env build). */
  isWarm(recipe: string): boolean {
    return (this.#supervisors.get(recipe)?.livePods().length ?? 0) > 0;
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
    const infos = pods.map((pod) => this.#info(pod, undefined));
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
    const { usage, warning } = await this.#budget.sample();
    const pods = this.#supervisors.livePods().map((pod) => this.#info(pod, usage?.get(pod.id)));
    const usedMB = usage ? Math.round([...usage.values()].reduce((a, b) => a + b, 0)) : null;
    return { pods, memory: { usedMB, maxMB: this.#budget.maxMB, ...(warning ? { warning } : {}) } };
  }

  /** Recent log lines of a recipe's current pods (every replica) or of one pod, oldest first. */
  async logs(selector: { target: string } | { podId: string }, lines = 100): Promise<PodLogLine[]> {
    await this.#init;
    const pods =
      'podId' in selector
        ? this.#supervisors.livePods().filter((p) => p.id === selector.podId)
        : (this.#supervisors.get(this.#resolve(selector.target).recipe.name)?.pods ?? []);
    // A recipe's replicas: their lines interleaved by time (each line names its pod).
    const merged = pods.flatMap((pod) => pod.logs.tail(lines));
    return pods.length > 1 ? merged.sort((a, b) => a.time - b.time).slice(-lines) : merged;
  }

  /** The summed, measured RSS of all pods and the budget, MB (see {@link snapshot}). */
  async memory(): Promise<MemoryReport> {
    return (await this.snapshot()).memory;
  }

  /** The zygotes running now, each with its memory as the budget counts it. */
  async zygotes(): Promise<{ recipe: string; pid: number; memoryMB: number | null }[]> {
    const zygotes = (this.#zygotes?.running() ?? []).filter((zygote) => zygote.sharesPages);
    if (zygotes.length === 0) return [];
    const { usage } = await this.#budget.sample();
    return zygotes.map(({ recipe, pid, id }) => {
      const mb = usage?.get(id);
      return { recipe, pid, memoryMB: mb === undefined ? null : Math.round(mb * 10) / 10 };
    });
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
    const catalog = await loadCatalog(this.options, this.#log);
    const before = this.#catalog;
    this.#catalog = catalog;
    // Zygotes follow the catalog: an upgraded or removed recipe's stops, an installed one's starts.
    const current = (name: string, dir: string) => catalog.get(name)?.dir === dir;
    const stale = this.#zygotes?.stopWhere((name, dir) => !current(name, dir));
    for (const loaded of catalog.list()) {
      if (loaded.recipe.preload.length === 0 || before.get(loaded.recipe.name)?.dir === loaded.dir) continue;
      this.startZygote(loaded.recipe.name).catch((error: unknown) =>
        this.#log.warn({ recipe: loaded.recipe.name, err: error }, 'zygote: not started after the install'),
      );
    }
    await stale;
    const dropped = this.#supervisors.dropWhere((s) => {
      const stale = catalog.get(s.name)?.dir !== s.loaded.dir;
      if (stale) for (const pod of s.pods) this.#stopReasons.note(pod, { why: 'upgraded' });
      return stale;
    }, this.options.drainTimeout * 1000);
    // An installed or upgraded recipe's warm pods start now; the old version's drain meanwhile.
    for (const loaded of catalog.list()) {
      if (before.get(loaded.recipe.name)?.dir !== loaded.dir) this.#warmInBackground(loaded);
    }
    await dropped;
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
  async smokeStart(loaded: LoadedRecipe, options: { signal?: AbortSignal } = {}): Promise<SmokeStartResult> {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new pods.');
    await this.#init;
    const prepared = await this.#prepare(loaded);
    // Never forked: a smoke start runs from the staging folder, which no zygote should serve.
    const pod = await this.#budget.reserve(loaded.recipe.name, () => this.#spawn(prepared, false));
    this.#smokeStarts.add(pod);
    void pod.exited.then(() => this.#smokeStarts.delete(pod));
    return awaitReadyThenStop(pod, loaded.recipe.name, options.signal);
  }

  /**
   * Starts the zygote of a recipe that declares `preload` (its env built first) and resolves with
   * its pid once it can fork pods; undefined when the recipe has none or it failed to start (the
   * daemon log says why). Pods start from it from then on; without this, the first pod starts it.
   */
  async startZygote(target: string): Promise<number | undefined> {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new pods.');
    await this.#init;
    const loaded = this.#resolve(target);
    if (this.#launcherFor(loaded).locality === 'remote') return undefined; // zygotes are local
    const env = await this.#environments().prepare(loaded);
    return this.#zygotes?.start(loaded, env);
  }

  /** Stops every pod and leaves no process behind. Calls made afterwards fail with `SHUTTING_DOWN`. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#init.catch(() => undefined);
    await this.#envs?.close();
    await Promise.all([...this.#smokeStarts].map((pod) => pod.stop()));
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
    this.#launchers = Launchers.fromConfig(
      new LocalLauncher(() => this.#environments()),
      this.options.launchers,
      this.options.placement,
      {
        home: this.options.home,
        uv: this.options.uv ?? 'uv',
        python: this.options.python,
        logger: this.#log,
      },
    );
    for (const loaded of catalog.list()) this.#warmInBackground(loaded);
  }

  /**
   * Starts the `minWarm` pods of a recipe that asks for them (its zygote first when it has `preload`,
   * so they fork from it); failures are logged, a call then starts its pod as usual.
   */
  #warmInBackground(loaded: LoadedRecipe): void {
    if (!this.options.warmPools || loaded.recipe.minWarm === 0 || this.#closing) return;
    const name = loaded.recipe.name;
    const warm = async () => {
      if (loaded.recipe.preload.length > 0) await this.startZygote(name).catch(() => undefined);
      await (await this.#supervisor(name)).warm();
    };
    warm().catch((error: unknown) => {
      if (!this.#closing) this.#log.warn({ recipe: name, err: error }, 'warm pool: pods not started');
    });
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
      const created: Supervisor = superviseRecipe(loaded, {
        restart: this.options.restart,
        idleTimeout: this.options.idleTimeout,
        prepare: (recipe) => this.#prepare(recipe),
        reserve: (recipe, spawn) => this.#budget.reserve(recipe, spawn),
        reserveIfFits: (recipe, spawn) => this.#budget.reserveIfFits(recipe, spawn),
        isCurrent: (recipe) => this.#supervisors.get(recipe) === created,
        spawn: (prepared) => this.#spawn(prepared),
        stopReasons: this.#stopReasons,
        log: this.#log,
        emit: (event) => this.#emit(event),
        isClosing: () => this.#closing,
      });
      supervisor = created;
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

  #spawn(prepared: Prepared, fork = true): Pod {
    if (this.#closing) throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new pods.');
    const { loaded, env } = prepared;
    this.#podCount += 1;
    const id = `${loaded.recipe.name}-${this.#podCount}`;
    const zygotes = fork ? this.#zygotes : undefined;
    const launcher = this.#launcherFor(loaded);
    const pod = createPod(id, launcher, prepared, this.options, (event) => this.#emit(event), zygotes);
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
    const supervisor = this.#supervisors.of(pod);
    return describePod(
      pod,
      rssMB,
      supervisor && {
        restarts: supervisor.restarts,
        reclaimInSeconds: supervisor.reclaimInSeconds(pod),
        replica: supervisor.replicaOf(pod) ?? 0,
      },
    );
  }

  /** Stops `pod` to make room for a pod of `forRecipe`: local memory, or a contended remote resource. */
  async #evict(pod: Pod, forRecipe: string): Promise<void> {
    this.#emit({ event: 'pod.evicted', podId: pod.id, recipe: pod.recipe });
    this.#stopReasons.note(pod, { why: 'evicted', for: forRecipe }, { replace: true });
    await pod.stop();
  }

  #emit(event: ManagerEvent): void {
    this.events.emit('event', event);
  }
}
