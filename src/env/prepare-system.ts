/**
 * System mode (pods run on the system interpreter, missing requirements are installed into it; a
 * recipe that conflicts with what it has runs in a layered venv instead) and the system packages a
 * recipe needs in either mode.
 */
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { PodkeeperError } from '../errors.js';
import { acquireLock } from '../process/lock.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { Recipe } from '../recipes/schema.js';
import type { EnvContext, PreparedEnv } from './context.js';
import { digest } from './key.js';
import { mayInstallSystemPackages, type ResolvedEnvMode } from './mode.js';
import { satisfiesPythonSpec } from './python-spec.js';
import { checkedRequirements, normalizeRequirements } from './requirements.js';
import { ensureSystemRequirements, type SystemOutcome } from './system.js';
import { ensureSystemPackages } from './system-packages.js';

/** Prepares a recipe's layered venv; `only`: the packages it must hold (default: its dependencies). */
export type LayeredEnvs = (loaded: LoadedRecipe, only?: string[]) => Promise<PreparedEnv>;

export class SystemEnvs {
  readonly #ctx: EnvContext;
  readonly #layered: LayeredEnvs;
  /** System-mode keys known satisfied; cleared by any system install. */
  readonly #satisfied = new Set<string>();
  /** System-mode keys known to conflict with the system Python: they run in a layered venv. */
  readonly #conflicting = new Set<string>();
  /** Recipes whose system packages were found present. */
  readonly #systemPackagesOk = new Set<string>();

  constructor(ctx: EnvContext, layered: LayeredEnvs) {
    this.#ctx = ctx;
    this.#layered = layered;
  }

  /** What identifies a recipe's requirements on the system interpreter. */
  keyOf(recipe: Recipe): string {
    const key = JSON.stringify([
      this.#ctx.options.base.executable,
      normalizeRequirements(recipe.dependencies),
    ]);
    return `system-${digest(key)}`;
  }

  async prepare(loaded: LoadedRecipe, key: string): Promise<PreparedEnv> {
    const { options } = this.#ctx;
    const { recipe } = loaded;
    const system: PreparedEnv = { kind: 'system', executable: options.base.executable };
    if (recipe.python !== undefined && satisfiesPythonSpec(options.base.version, recipe.python) === false) {
      throw new PodkeeperError(
        'ENV_BUILD_FAILED',
        `Recipe "${recipe.name}" needs Python ${recipe.python}; the system Python (${options.base.executable}) ` +
          `is ${options.base.version}. In system mode pods run on the system Python: use an image with a ` +
          'matching Python, or the venv mode (envMode "venv", PODKEEPER_ENV_MODE=venv).',
        { details: { recipe: recipe.name, python: recipe.python, systemPython: options.base.version } },
      );
    }
    if (this.#satisfied.has(key) || recipe.dependencies.length === 0) return system;
    if (this.#conflicting.has(key)) return this.#layered(loaded);
    const outcome = await this.#ensure(loaded);
    if (outcome.kind !== 'conflict') {
      this.#satisfied.add(key);
      return system;
    }
    this.#conflicting.add(key);
    this.#ctx.log.info(
      { recipe: recipe.name, differing: outcome.differing },
      'the recipe conflicts with the system Python: it gets a layered venv, the system packages stay as they are',
    );
    return this.#layered(loaded, outcome.differing ?? undefined);
  }

  /** Under the system interpreter's lock: installs what is missing, or finds a conflict. */
  async #ensure(loaded: LoadedRecipe): Promise<SystemOutcome> {
    const { options, store } = this.#ctx;
    const { recipe } = loaded;
    const python = options.base.executable;
    const lock = await acquireLock(store.lock(`system-${digest(python)}`), {
      timeoutMs: options.timeoutMs * 2,
      staleMs: options.lockStaleMs,
      signal: this.#ctx.signal,
      done: async () => false,
    });
    try {
      const started = performance.now();
      await mkdir(store.root, { recursive: true });
      const outcome = await ensureSystemRequirements({
        recipe: recipe.name,
        installer: await this.#ctx.installer(),
        run: this.#ctx.runner(recipe.name),
        python,
        requirements: checkedRequirements(recipe.name, recipe.dependencies),
        wheelhouse: options.wheelhouse,
        workDir: store.root,
        progress: ({ phase, message }) => this.#ctx.progress(recipe.name, null)(phase, message),
      });
      if (outcome.kind === 'installed') {
        // Only additions (never a replacement), but recheck the others all the same.
        this.#satisfied.clear();
        const ms = Math.round(performance.now() - started);
        options.emit({ event: 'env.built', recipe: recipe.name, hash: null, mode: 'system', ms });
      }
      return outcome;
    } finally {
      await lock?.release();
    }
  }

  /** The recipe's system packages, checked (and installed where allowed) once per recipe. */
  async ensurePackages(loaded: LoadedRecipe, hash: string | null, mode: ResolvedEnvMode): Promise<void> {
    const { recipe } = loaded;
    if (recipe.systemDependencies.length === 0 || this.#systemPackagesOk.has(recipe.name)) return;
    await ensureSystemPackages({
      recipe: recipe.name,
      packages: recipe.systemDependencies,
      run: this.#ctx.runner(recipe.name),
      path: this.#ctx.options.env['PATH'] ?? '',
      mayInstall: mayInstallSystemPackages(mode),
      progress: ({ phase, message }) => this.#ctx.progress(recipe.name, hash)(phase, message),
    });
    this.#systemPackagesOk.add(recipe.name);
  }
}
