/**
 * Python environments for pods (docs/architecture.md#environments). `prepare(recipe)` answers the
 * interpreter a recipe's pod runs on, building what is missing first:
 *
 *   recipe ─▶ no dependencies ───────────────────────────▶ base interpreter (fast path, no I/O)
 *          ├▶ venv mode ─ hash ─ check fingerprint ─ ok ─▶ envs/<hash>/bin/python
 *          │                                      └ bad ─▶ lock ─ recheck ─ build in .tmp ─ fingerprint ─ rename
 *          └▶ system mode ─ known satisfied? ─ no ─ probe ─ install missing ─▶ system interpreter
 *                                                    └ conflict ─▶ layered venv (envs/<hash>, only what differs)
 *
 * Concurrent prepares of one env share one promise (in this process) and one lock (across processes).
 * A failed build is remembered for `retryAfterMs`, so a crash loop does not rebuild in a tight loop;
 * a recipe change gives a new hash and builds at once.
 *
 * This class only routes: venv mode is in prepare-venv.ts, system mode and system packages in
 * prepare-system.ts, the failure memory in failure-memory.ts, status and gc in status.ts.
 */
import { PodkeeperError } from '../errors.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { Recipe } from '../recipes/schema.js';
import { EnvContext, type EnvironmentsOptions, type PreparedEnv } from './context.js';
import { FailureMemory } from './failure-memory.js';
import { digest, type EnvKey, envKey, hashKey, needsEnv, needsVenv } from './key.js';
import { type ResolvedEnvMode, resolveEnvMode } from './mode.js';
import { SystemEnvs } from './prepare-system.js';
import { VenvEnvs } from './prepare-venv.js';
import { collectGarbage, type EnvironmentStatus, envStatus, type GcResult } from './status.js';
import type { EnvStore } from './store.js';

export type { EnvironmentsOptions, PreparedEnv } from './context.js';
export type { EnvInfo, EnvironmentStatus, GcResult } from './status.js';

export class Environments {
  readonly mode: ResolvedEnvMode;
  readonly store: EnvStore;
  readonly #ctx: EnvContext;
  readonly #base: PreparedEnv;
  readonly #pending = new Map<string, Promise<PreparedEnv>>();
  readonly #failures: FailureMemory;
  readonly #venvs: VenvEnvs;
  readonly #system: SystemEnvs;
  readonly #keys = new WeakMap<Recipe, { key: EnvKey; hash: string }>();

  constructor(options: EnvironmentsOptions) {
    this.#ctx = new EnvContext(options);
    this.mode = resolveEnvMode(options.mode);
    if (options.mode === 'auto' && options.container) {
      this.#ctx.log.info(
        'inside a container, envMode auto builds venvs; set envMode "system" (PODKEEPER_ENV_MODE=system) ' +
          "to install into this container's own Python instead",
      );
    }
    this.store = this.#ctx.store;
    this.#base = { kind: 'base', executable: options.base.executable };
    this.#failures = new FailureMemory(this.#ctx);
    this.#venvs = new VenvEnvs(this.#ctx, (recipe) => this.#keyOf(recipe).key);
    // In system mode the only venvs are layered ones, for recipes that conflict with the system Python.
    this.#system = new SystemEnvs(this.#ctx, (loaded, only) =>
      this.#venvs.prepare(loaded, this.hashOf(loaded.recipe), only),
    );
  }

  /** The interpreter for a recipe's next pod, with its env built or checked first. */
  prepare(loaded: LoadedRecipe): Promise<PreparedEnv> {
    const { recipe } = loaded;
    if (this.#ctx.signal.aborted) {
      return Promise.reject(
        new PodkeeperError('SHUTTING_DOWN', 'podkeeper is shutting down; no env builds.'),
      );
    }
    if (!needsEnv(recipe, this.#ctx.options.base)) return Promise.resolve(this.#base);
    const id = this.#idOf(recipe);
    const failed = this.#failures.recent(id);
    if (failed) return Promise.reject(failed);
    let pending = this.#pending.get(id);
    if (!pending) {
      pending = this.#prepare(loaded, id).finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return pending;
  }

  /** Forgets a remembered failure of this recipe's env (an explicit start retries at once). */
  forget(loaded: LoadedRecipe): void {
    if (needsEnv(loaded.recipe, this.#ctx.options.base)) this.#failures.forget(this.#idOf(loaded.recipe));
  }

  /** The venv hash of a recipe's dependency set (in system mode: of its layered venv, if it needs one). */
  hashOf(recipe: Recipe): string {
    return this.#keyOf(recipe).hash;
  }

  #keyOf(recipe: Recipe): { key: EnvKey; hash: string } {
    let cached = this.#keys.get(recipe);
    if (!cached) {
      const key = envKey(recipe, this.#ctx.options.base, this.mode === 'system');
      cached = { key, hash: hashKey(key) };
      this.#keys.set(recipe, cached);
    }
    return cached;
  }

  /**
   * Mode, installer, and every env on disk with its state and the recipes (of `recipes`) using it.
   * Finds the installer without installing one.
   */
  status(recipes: readonly LoadedRecipe[] = []): Promise<EnvironmentStatus> {
    return envStatus(this.#ctx, this.mode, this.#venvs, recipes, (recipe) => this.hashOf(recipe));
  }

  /**
   * Removes every env no recipe of `recipes` needs, unless a pod runs from it (`inUse`, or any
   * process on this machine, found in /proc) or it is being built (here, or by another process
   * holding its lock). Leftovers of killed builds go too.
   */
  gc(recipes: readonly LoadedRecipe[], inUse: Iterable<string>): Promise<GcResult> {
    return collectGarbage(this.#ctx, this.#venvs, recipes, inUse, (recipe) => this.hashOf(recipe));
  }

  /** Stops running builds (their commands are killed) and waits until they have cleaned up. */
  async close(): Promise<void> {
    this.#ctx.abort();
    await Promise.allSettled([...this.#pending.values()]);
  }

  async #prepare(loaded: LoadedRecipe, id: string): Promise<PreparedEnv> {
    const { recipe } = loaded;
    const hash = this.mode === 'venv' ? this.hashOf(recipe) : null;
    try {
      await this.#system.ensurePackages(loaded, hash, this.mode);
      if (this.mode === 'system') return await this.#system.prepare(loaded, this.#system.keyOf(recipe));
      return hash !== null && needsVenv(recipe, this.#ctx.options.base)
        ? await this.#venvs.prepare(loaded, hash)
        : this.#base;
    } catch (error) {
      throw this.#failures.record(id, recipe.name, hash, error);
    }
  }

  /**
   * What one preparation is about, for sharing it between concurrent callers and remembering its
   * failure: the env (venv hash, or the system interpreter and requirements) plus the system packages.
   */
  #idOf(recipe: Recipe): string {
    const env = this.mode === 'venv' ? this.hashOf(recipe) : this.#system.keyOf(recipe);
    const packages = [...new Set(recipe.systemDependencies)].sort();
    return packages.length === 0 ? env : `${env}+${digest(packages.join('\n'))}`;
  }
}
