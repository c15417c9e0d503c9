/**
 * Supervises one recipe in the manager (docs/architecture.md#warm-pools-and-replicas): its pods
 * (replicas, at most `replicas.max`), started on demand (one first spawn at a time, concurrent callers
 * share it), another one when every replica has calls waiting and the memory budget has room for it,
 * `minWarm` of them kept ready even when idle, restarted after a crash under the restart policy, and
 * each stopped when it has been idle for its keep-alive.
 */
import { PodkeeperError } from '../errors.js';
import { podFatal } from '../pod/failures.js';
import type { Pod, PodExit } from '../pod/pod.js';
import { wait } from '../process/group.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import { FairQueue, type WaitingCall } from './fair-queue.js';
import { IdleTimers } from './idle-timers.js';
import { chooseReplica, shouldScaleUp } from './replica-choice.js';
import { ReplicaSet } from './replica-set.js';
import { ReplicaStarts } from './replica-starts.js';
import { endedPod, type RestartPolicy } from './restart-policy.js';

export interface SupervisorDeps {
  /** Makes room under the memory budget, then spawns a pod for this recipe. */
  spawn(loaded: LoadedRecipe): Promise<Pod>;
  /** Spawns another replica only if it fits under the memory budget now (no eviction, no wait). */
  spawnIfFits(loaded: LoadedRecipe): Promise<Pod | undefined>;
  /** Reports a pod's end (crash, reclaim, fatal) to the manager. */
  onExit(supervisor: Supervisor, exit: PodExit, fatal: PodkeeperError | undefined): void;
  onReclaim(supervisor: Supervisor, pod: Pod, idleSeconds: number): void;
  /** A replica or a warm pod that could not start (the budget refused it, its spawn failed). */
  onNotStarted(supervisor: Supervisor, why: 'replica' | 'warm', error: unknown): void;
  /** Manager default idle timeout, seconds. */
  idleTimeout: number;
  /** How many calls may wait for a free replica (the manager's `maxQueue`). */
  maxQueue: number;
  isClosing(): boolean;
}

export class Supervisor {
  readonly loaded: LoadedRecipe;
  readonly #policy: RestartPolicy;
  readonly #deps: SupervisorDeps;
  /** Every pod that has not exited yet (live or stopping), with its replica index. */
  readonly #pods = new ReplicaSet();
  fatal: PodkeeperError | undefined;
  /** The keep-alive asked for by the latest call (seconds), for the current pods. */
  keepAlive: number | undefined;
  /**
   * The RSS its recent pods had at `ready`, MB, decaying (each new pod's figure weighs half): what a
   * recipe without a declared `memoryMB` is expected to need at spawn. 0 until a pod was ready.
   */
  readyMB = 0;
  /** Pods started again after a crash of the one before (`ps` RESTARTS). */
  restarts = 0;
  #lastCrashed = false;
  #spawning: Promise<Pod> | undefined;
  /** Replicas beyond the first pod on their way. */
  readonly #replicas = new ReplicaStarts(
    (pod) => {
      this.#adopt(pod);
      this.#sendWaiting(); // a starting pod takes calls once ready (its 'ready' event); one up already, now
    },
    (error) => {
      this.#deps.onNotStarted(this, 'replica', error);
      this.#sendWaiting(); // the calls it was for: still a pod to wait for?
    },
  );
  /** Counts calls, so that equally loaded replicas take turns. */
  #turn = 0;
  /** Pods stopped by their idle timer: refilled up to `minWarm`, unlike a pod stopped on purpose. */
  readonly #reclaimed = new WeakSet<Pod>();
  readonly #idle = new IdleTimers((pod, seconds) => this.#reclaim(pod, seconds));
  /** Calls of a replicated recipe waiting for a replica with a free slot. */
  readonly #waiting: FairQueue<Pod>;

  constructor(loaded: LoadedRecipe, policy: RestartPolicy, deps: SupervisorDeps) {
    this.loaded = loaded;
    this.#policy = policy;
    this.#deps = deps;
    this.#waiting = new FairQueue(loaded.recipe.name, deps.maxQueue * loaded.recipe.replicas.max);
  }

  /** True when the recipe may run more than one pod: its calls go through {@link dispatch}. */
  get replicated(): boolean {
    return this.loaded.recipe.replicas.max > 1;
  }

  get name(): string {
    return this.loaded.recipe.name;
  }

  /** Every pod not exited yet (live or stopping), in replica order. */
  get pods(): Pod[] {
    return this.#pods.all();
  }

  /** A pod's replica index (0 for the first), or undefined for a pod not of this supervisor. */
  replicaOf(pod: Pod): number | undefined {
    return this.#pods.indexOf(pod);
  }

  /** The pods that take requests (starting, ready or busy), none while the recipe is fatal. */
  livePods(): Pod[] {
    return this.fatal ? [] : this.#pods.live();
  }

  /** True when a pod takes requests now (as `livePods().length > 0`, without building the array). */
  hasLivePod(): boolean {
    return !this.fatal && this.#pods.firstLive() !== undefined;
  }

  /**
   * The live pod the next call should go to (fewest outstanding requests, see replica-choice.ts), or
   * undefined when none is live. When every replica is full, another is started for the calls after
   * this one (this call still goes to the pod returned).
   */
  podForCall(): Pod | undefined {
    // The hot path of a recipe without replicas: its one live pod, with no array built.
    if (this.loaded.recipe.replicas.max === 1) return this.fatal ? undefined : this.#pods.firstLive();
    const live = this.livePods();
    const choice = chooseReplica(live, this.loaded.recipe.concurrency, this.#turn++);
    if (shouldScaleUp(choice, live.length, this.#pending(), this.loaded.recipe.replicas.max)) this.#scaleUp();
    return choice.pod;
  }

  /**
   * A call of a replicated recipe, sent now to the ready replica with the fewest outstanding requests
   * if it has a free slot and no call waits before it, else queued until a replica frees one or a
   * starting one is ready (fair-queue.ts): it never waits behind a long call while another replica is
   * free. Starts another replica when the waiting calls outnumber the slots on their way. Undefined
   * when no pod is live: the caller spawns one, then dispatches again.
   */
  dispatch(call: WaitingCall<Pod>): Promise<unknown> | undefined {
    if (this.fatal) return undefined;
    const live = this.#pods.live();
    if (live.length === 0) return undefined;
    const { concurrency } = this.loaded.recipe;
    if (this.#waiting.size === 0) {
      const choice = chooseReplica(up(live), concurrency, this.#turn++);
      if (choice.pod !== undefined && !choice.saturated) return call.send(choice.pod);
    }
    const answer = this.#waiting.add(call);
    this.#sendWaiting();
    // Scaling is driven by calls, never by pod events: a replica that fails or crashes is not
    // started again in a loop while a call waits (the next call tries again, after a refusal 1 s on).
    const coming = (live.length - up(live).length + this.#replicas.starting) * concurrency;
    const { max } = this.loaded.recipe.replicas;
    if (this.#waiting.size > coming && live.length + this.#pending() < max) this.#scaleUp();
    return answer;
  }

  /**
   * A live pod (maybe still starting), spawning one when there is none. A caller whose `signal`
   * aborts while the pod loads is answered with `CANCELLED` at once; the pod keeps loading.
   */
  acquire(signal?: AbortSignal): Promise<Pod> {
    const acquiring = this.#acquire();
    if (!signal) return acquiring;
    return new Promise<Pod>((resolve, reject) => {
      const onAbort = () =>
        reject(new PodkeeperError('CANCELLED', `Call to "${this.name}" was cancelled by its caller.`));
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      acquiring.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  #acquire(): Promise<Pod> {
    // A fatal recipe whose cool-down is over gets one more try.
    if (this.fatal && this.#policy.endCooldown(performance.now())) this.fatal = undefined;
    if (this.fatal) return Promise.reject(this.fatal);
    // A pending idle timer stays armed: when it fires it stops the pod only if the pod is idle.
    const live = this.podForCall();
    if (live) return Promise.resolve(live);
    this.#spawning ??= this.#spawnFirst().finally(() => {
      this.#spawning = undefined;
    });
    return this.#spawning;
  }

  /**
   * Starts pods until `minWarm` are live or on the way (the first through {@link acquire}, the others
   * as replicas that wait for room like any spawn). Resolves once they are started, not ready.
   */
  async warm(): Promise<void> {
    const missing = () => this.loaded.recipe.minWarm - this.livePods().length - this.#pending();
    if (this.#deps.isClosing() || missing() <= 0) return;
    if (this.livePods().length === 0) await this.acquire();
    // A crashed pod's replacement waits out the restart backoff, as a first pod's does.
    const delay = this.#policy.delayMs(performance.now());
    if (delay > 0) await wait(delay);
    const starting: Promise<unknown>[] = [];
    for (let n = missing(); n > 0; n--)
      starting.push(this.#replicas.start(() => this.#deps.spawn(this.loaded)));
    await Promise.all(starting);
  }

  /** The fatal state while it lasts: crashes in a row, ms until the next try, the last stderr lines. */
  fatalState(): { crashes: number; retryInMs: number; stderrTail: string[] } | undefined {
    if (!this.fatal) return undefined;
    const retryInMs = Math.round(this.#policy.fatalLeftMs(performance.now()));
    const { crashes, last } = this.fatal.details as { crashes: number; last?: { stderrTail?: string[] } };
    return { crashes, retryInMs, stderrTail: last?.stderrTail ?? [] };
  }

  /** An explicit start: forgets crashes and a fatal state. */
  clearFailures(): void {
    this.fatal = undefined;
    this.#policy.reset();
  }

  /** Idle seconds before a pod of this recipe is stopped: the call's keep-alive, the recipe's, the default. */
  get idleSeconds(): number {
    return this.keepAlive ?? this.loaded.recipe.idleTimeout ?? this.#deps.idleTimeout;
  }

  /** Seconds until an idle `pod` is reclaimed; null while it works, or when it never is. */
  reclaimInSeconds(pod: Pod): number | null {
    const seconds = this.idleSeconds;
    if (!this.#pods.has(pod) || !pod.idle || seconds < 0 || this.#keptWarm()) return null;
    return Math.max(0, Math.round((seconds - (Date.now() - pod.lastUsedAt) / 1000) * 10) / 10);
  }

  /** Stops every pod of the recipe; resolves with them once they have exited. */
  async stop(): Promise<Pod[]> {
    this.#waiting.stop('stopped');
    const pods = this.pods;
    for (const pod of pods) this.#idle.clear(pod);
    await Promise.all(pods.map((pod) => pod.stop()));
    return pods;
  }

  /** Lets the pods finish their calls (at most `timeoutMs`), then stops them; they take no new ones. */
  async drain(timeoutMs: number): Promise<Pod[]> {
    this.#waiting.spread(this.livePods()); // taken before the drain: they go to the replicas' queues
    const pods = this.pods;
    for (const pod of pods) this.#idle.clear(pod);
    await Promise.all(pods.map((pod) => pod.drain(timeoutMs)));
    return pods;
  }

  /**
   * Hands waiting calls to ready replicas with a free slot, oldest first, and starts a pod when none
   * is left (another replica is started only by a call, in {@link dispatch}).
   */
  #sendWaiting(): void {
    if (this.#waiting.size === 0) return;
    if (this.fatal) return void this.#waiting.failAll(this.fatal);
    const live = this.#pods.live();
    this.#waiting.sendToFree(up(live), this.loaded.recipe.concurrency, () => this.#turn++);
    if (this.#waiting.size === 0 || live.length > 0) return;
    if (this.#deps.isClosing()) return void this.#waiting.stop('shut down');
    // Every replica is gone (crashed, reclaimed, stopped): a pod starts as for a cold call (or the
    // first spawn already on its way is awaited), and the calls leave the queue as its slots free.
    // A replica on its way calls back here whether it starts or not.
    if (this.#replicas.starting > 0) return;
    this.acquire().then(
      () => this.#sendWaiting(),
      (error: unknown) => this.#waiting.failAll(error),
    );
  }

  #pending(): number {
    return (this.#spawning ? 1 : 0) + this.#replicas.starting;
  }

  /** True while the idle timer must spare the pods: no call asked for a keep-alive and only minWarm are live. */
  #keptWarm(): boolean {
    return this.keepAlive === undefined && this.livePods().length <= this.loaded.recipe.minWarm;
  }

  #scaleUp(): void {
    this.#replicas.scaleUp(() => this.#deps.spawnIfFits(this.loaded));
  }

  async #spawnFirst(): Promise<Pod> {
    await Promise.all(this.pods.filter((pod) => pod.state === 'stopping').map((pod) => pod.exited));
    const delay = this.#policy.delayMs(performance.now());
    if (delay > 0) await wait(delay);
    if (this.fatal) throw this.fatal;
    const pod = await this.#deps.spawn(this.loaded);
    this.keepAlive = undefined;
    this.#adopt(pod);
    return pod;
  }

  #adopt(pod: Pod): void {
    if (this.#lastCrashed) this.restarts += 1;
    this.#lastCrashed = false;
    this.#pods.add(pod);
    pod.events.on('idle', () => this.#scheduleIdle(pod));
    pod.events.on('ready', ({ ready }) => {
      this.#policy.noteReady();
      this.readyMB = this.readyMB === 0 ? ready.memoryMB : (this.readyMB + ready.memoryMB) / 2;
      this.#sendWaiting();
    });
    if (this.replicated) pod.events.on('settled', () => this.#sendWaiting());
    pod.events.on('exit', (exit) => this.#onExit(exit));
  }

  /** Runs after every reply that leaves the pod idle: on the hot path (see idle-timers.ts). */
  #scheduleIdle(pod: Pod): void {
    if (this.#pods.has(pod)) this.#idle.arm(pod, this.idleSeconds);
    else this.#idle.clear(pod);
  }

  /** `pod` has been idle for `seconds`: stopped unless it works again or minWarm spares it. */
  #reclaim(pod: Pod, seconds: number): void {
    if (!this.#pods.has(pod) || !pod.idle || this.#keptWarm()) return;
    this.#reclaimed.add(pod);
    this.#deps.onReclaim(this, pod, seconds);
    void pod.stop();
  }

  #onExit(exit: PodExit): void {
    this.#idle.clear(exit.pod);
    this.#pods.delete(exit.pod);
    const now = performance.now();
    const { reason, facts } = exit;
    if (reason !== 'stopped') this.#lastCrashed = true;
    else if (this.#pods.size === 0) this.#lastCrashed = false;
    if (this.#policy.record(endedPod(exit), now) === 'fatal') {
      this.fatal = podFatal(this.name, this.#policy.unstableCrashes, facts, this.#policy.fatalLeftMs(now));
    } else if (this.fatal && !this.#policy.isFatal) {
      this.fatal = undefined; // a stable run (a replica that ran, stopped) forgave it: the recipe starts
    }
    this.#deps.onExit(this, exit, this.fatal);
    this.#sendWaiting();
    if (this.#deps.isClosing()) return;
    // A pod killed for ignoring a cancel was warm and wanted: bring it back at once.
    if (exit.reason === 'killed') this.acquire().catch(() => undefined);
    // A reclaimed or crashed pod of a warm pool is replaced; one stopped on purpose (stop, eviction,
    // upgrade) is not.
    if ((reason !== 'stopped' || this.#reclaimed.has(exit.pod)) && !this.fatal) {
      this.warm().catch((error: unknown) => this.#deps.onNotStarted(this, 'warm', error));
    }
  }
}

/** The pods of `live` that are ready or busy (not starting). */
function up(live: readonly Pod[]): Pod[] {
  return live.filter((pod) => pod.state !== 'starting');
}
