/**
 * Supervises one recipe in the manager: at most one live pod, started on demand (one spawn at a time,
 * concurrent callers share it), restarted after a crash under the restart policy, and stopped when
 * it has been idle for its keep-alive.
 */
import { PodkeeperError } from '../errors.js';
import { podFatal } from '../pod/failures.js';
import type { Pod, PodExit } from '../pod/pod.js';
import { wait } from '../process/group.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { RestartPolicy } from './restart-policy.js';

export interface SupervisorDeps {
  /** Makes room under the memory budget, then spawns a pod for this recipe. */
  spawn(loaded: LoadedRecipe): Promise<Pod>;
  /** Reports a pod's end (crash, reclaim, fatal) to the manager. */
  onExit(supervisor: Supervisor, exit: PodExit, fatal: PodkeeperError | undefined): void;
  onReclaim(supervisor: Supervisor, pod: Pod, idleSeconds: number): void;
  /** Manager default idle timeout, seconds. */
  idleTimeout: number;
  isClosing(): boolean;
}

export class Supervisor {
  readonly loaded: LoadedRecipe;
  readonly #policy: RestartPolicy;
  readonly #deps: SupervisorDeps;
  pod: Pod | undefined;
  fatal: PodkeeperError | undefined;
  /** The keep-alive asked for by the latest call (seconds), for the current pod. */
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
  #idleTimer: NodeJS.Timeout | undefined;
  #idleTimerSeconds = 0;

  constructor(loaded: LoadedRecipe, policy: RestartPolicy, deps: SupervisorDeps) {
    this.loaded = loaded;
    this.#policy = policy;
    this.#deps = deps;
  }

  get name(): string {
    return this.loaded.recipe.name;
  }

  /** The current pod when it takes requests (starting, ready or busy) and the recipe is not fatal. */
  livePod(): Pod | undefined {
    const pod = this.pod;
    if (this.fatal || !pod) return undefined;
    return pod.state === 'starting' || pod.state === 'ready' || pod.state === 'busy' ? pod : undefined;
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
    const live = this.livePod();
    if (live) return Promise.resolve(live);
    this.#spawning ??= this.#spawn().finally(() => {
      this.#spawning = undefined;
    });
    return this.#spawning;
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

  /** Idle seconds before this recipe's pod is stopped: the call's keep-alive, the recipe's, the default. */
  get idleSeconds(): number {
    return this.keepAlive ?? this.loaded.recipe.idleTimeout ?? this.#deps.idleTimeout;
  }

  /** Seconds until an idle `pod` is reclaimed; null while it works, or when it never is. */
  reclaimInSeconds(pod: Pod): number | null {
    const seconds = this.idleSeconds;
    if (pod !== this.pod || !pod.idle || seconds < 0) return null;
    return Math.max(0, Math.round((seconds - (Date.now() - pod.lastUsedAt) / 1000) * 10) / 10);
  }

  /** Stops the current pod, if any. */
  async stop(): Promise<Pod | undefined> {
    this.#clearIdle();
    const pod = this.pod;
    if (!pod) return undefined;
    await pod.stop();
    return pod;
  }

  /** Lets the current pod finish its calls (at most `timeoutMs`), then stops it; it takes no new ones. */
  async drain(timeoutMs: number): Promise<Pod | undefined> {
    this.#clearIdle();
    const pod = this.pod;
    if (!pod) return undefined;
    await pod.drain(timeoutMs);
    return pod;
  }

  async #spawn(): Promise<Pod> {
    if (this.pod?.state === 'stopping') await this.pod.exited;
    const delay = this.#policy.delayMs(performance.now());
    if (delay > 0) await wait(delay);
    if (this.fatal) throw this.fatal;
    const pod = await this.#deps.spawn(this.loaded);
    if (this.#lastCrashed) this.restarts += 1;
    this.#lastCrashed = false;
    this.pod = pod;
    this.keepAlive = undefined;
    pod.events.on('idle', () => this.#scheduleIdle(pod));
    pod.events.on('ready', ({ ready }) => {
      this.#policy.noteReady();
      this.readyMB = this.readyMB === 0 ? ready.memoryMB : (this.readyMB + ready.memoryMB) / 2;
    });
    pod.events.on('exit', (exit) => this.#onExit(exit));
    return pod;
  }

  /** Runs after every reply that leaves the pod idle: on the hot path, so the timer is re-armed, not remade. */
  #scheduleIdle(pod: Pod): void {
    const seconds = this.idleSeconds;
    if (this.#idleTimer && this.#idleTimerSeconds === seconds && this.pod === pod && seconds > 0) {
      this.#idleTimer.refresh();
      return;
    }
    this.#clearIdle();
    if (seconds < 0 || this.pod !== pod) return;
    const reclaim = () => {
      if (this.pod !== pod || !pod.idle) return;
      this.#deps.onReclaim(this, pod, seconds);
      void pod.stop();
    };
    if (seconds === 0) {
      reclaim();
      return;
    }
    this.#idleTimer = setTimeout(reclaim, seconds * 1000);
    this.#idleTimer.unref();
    this.#idleTimerSeconds = seconds;
  }

  #clearIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #onExit(exit: PodExit): void {
    this.#clearIdle();
    if (this.pod === exit.pod) this.pod = undefined;
    const now = performance.now();
    const { reason, facts } = exit;
    if (this.pod === undefined) this.#lastCrashed = reason !== 'stopped';
    const { uptimeMs, signal, exitCode } = facts;
    const wasReady = exit.pod.readyInfo !== undefined;
    const ended = {
      reason,
      uptimeMs,
      signal,
      exitCode,
      wasReady,
      spawnFailed: exit.error.code === 'SPAWN_FAILED',
      code: exit.error.code,
    };
    if (this.#policy.record(ended, now) === 'fatal') {
      this.fatal = podFatal(this.name, this.#policy.unstableCrashes, facts, this.#policy.fatalLeftMs(now));
    }
    this.#deps.onExit(this, exit, this.fatal);
    // A pod killed for ignoring a cancel was warm and wanted: bring it back at once.
    if (exit.reason === 'killed' && !this.#deps.isClosing()) this.acquire().catch(() => undefined);
  }
}
