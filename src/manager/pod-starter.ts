/**
 * Starts a recipe's pods: picks the launcher its placement names (local unless the placement map
 * says otherwise), prepares what that launcher needs (the local env built or reused, or a check),
 * spawns the pod (forked from the recipe's zygote when one is ready) and remembers the env each live
 * pod runs from, so that env gc never removes one in use. It also starts the pods and zygotes that no
 * supervisor owns: an install's smoke start, a recipe's zygote ahead of its first pod.
 */
import type { Logger } from 'pino';
import type { Environments, PreparedEnv } from '../env/envs.js';
import { PodkeeperError } from '../errors.js';
import { Launchers } from '../launch/launchers.js';
import { LocalLauncher } from '../launch/local.js';
import type { Launcher, Prepared } from '../launch/types.js';
import type { Pod } from '../pod/pod.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { ManagerEvent } from './events.js';
import type { ResolvedOptions } from './options.js';
import { createPod } from './pod-factory.js';
import { watchPlacement } from './remote-contention.js';
import { awaitReadyThenStop, type SmokeStartResult } from './smoke-start.js';
import type { Zygotes } from './zygotes.js';

/** What a {@link PodStarter} needs from its manager. */
export interface PodStarterDeps {
  options: ResolvedOptions;
  log: Logger;
  environments: () => Environments;
  zygotes: Zygotes | undefined;
  livePods: () => Pod[];
  /** Spawns once the memory budget has room for a pod of `recipe`. */
  reserve: (recipe: string, spawn: () => Pod) => Promise<Pod>;
  /** Stops `pod` to make room for a pod of `forRecipe` (a contended remote resource). */
  evict: (pod: Pod, forRecipe: string) => Promise<void>;
  emit: (event: ManagerEvent) => void;
  isClosing: () => boolean;
}

export class PodStarter {
  /** Which launcher starts a recipe's pods. */
  readonly launchers: Launchers;
  readonly #deps: PodStarterDeps;
  /** The env hash each live pod runs from (venv mode). */
  readonly #podEnvs = new Map<string, string>();
  #podCount = 0;
  /** Pods of install smoke starts, outside any supervisor. */
  readonly #smokeStarts = new Set<Pod>();

  constructor(deps: PodStarterDeps) {
    this.#deps = deps;
    const { options, log } = deps;
    this.launchers = Launchers.fromConfig(
      new LocalLauncher(deps.environments),
      options.launchers,
      options.placement,
      { home: options.home, uv: options.uv ?? 'uv', python: options.python, logger: log },
    );
  }

  launcherFor(loaded: LoadedRecipe): Launcher {
    return this.launchers.for(loaded.recipe.name);
  }

  /** What the recipe's launcher needs before a start: the local env built or reused, or a check. */
  prepare(loaded: LoadedRecipe): Promise<Prepared> {
    return this.launcherFor(loaded).prepare(loaded);
  }

  /** Builds (or checks) the env a recipe's pods run in; an install does this before its smoke start. */
  async prepareEnv(loaded: LoadedRecipe): Promise<PreparedEnv> {
    const launcher = this.launcherFor(loaded);
    if (launcher.locality === 'remote') {
      // No local env for a recipe placed elsewhere: only what its launcher needs here.
      const { executable } = await launcher.prepare(loaded);
      return { kind: 'remote', executable: executable ?? launcher.name };
    }
    return this.#deps.environments().prepare(loaded);
  }

  /** Spawns a pod of a prepared recipe; `fork`: from its zygote when one is ready. */
  spawn(prepared: Prepared, fork = true): Pod {
    const deps = this.#deps;
    if (deps.isClosing())
      throw new PodkeeperError('SHUTTING_DOWN', 'The pod manager is closing; no new pods.');
    const { loaded, env } = prepared;
    this.#podCount += 1;
    const id = `${loaded.recipe.name}-${this.#podCount}`;
    const zygotes = fork ? deps.zygotes : undefined;
    const launcher = this.launcherFor(loaded);
    const pod = createPod(id, launcher, prepared, deps.options, deps.emit, zygotes);
    watchPlacement(pod, { livePods: deps.livePods, reclaim: deps.evict });
    if (env?.hash) {
      this.#podEnvs.set(id, env.hash);
      pod.events.on('exit', () => this.#podEnvs.delete(id));
    }
    return pod;
  }

  /**
   * An install's smoke start: spawns one pod of `loaded` (which need not be in the catalog), waits
   * until it is ready, stops it. Rejects with the pod's error (crash, ready timeout) or `CANCELLED`.
   */
  async smokeStart(loaded: LoadedRecipe, signal: AbortSignal | undefined): Promise<SmokeStartResult> {
    const prepared = await this.prepare(loaded);
    // Never forked: a smoke start runs from the staging folder, which no zygote should serve.
    const pod = await this.#deps.reserve(loaded.recipe.name, () => this.spawn(prepared, false));
    this.#smokeStarts.add(pod);
    void pod.exited.then(() => this.#smokeStarts.delete(pod));
    return awaitReadyThenStop(pod, loaded.recipe.name, signal);
  }

  /** Stops the smoke starts under way. */
  async stopSmokeStarts(): Promise<void> {
    await Promise.all([...this.#smokeStarts].map((pod) => pod.stop()));
  }

  /** Starts `loaded`'s zygote (its env built first); its pid, undefined when it has none or is remote. */
  async startZygote(loaded: LoadedRecipe): Promise<number | undefined> {
    if (this.launcherFor(loaded).locality === 'remote') return undefined; // zygotes are local
    const env = await this.#deps.environments().prepare(loaded);
    return this.#deps.zygotes?.start(loaded, env);
  }

  /** The env hashes live pods run from. */
  envsInUse(): Iterable<string> {
    return this.#podEnvs.values();
  }
}
