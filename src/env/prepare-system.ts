/**
 * System mode (pods run on the system interpreter, missing requirements are installed into it) and
 * the system packages a recipe needs in either mode.
 */
import { performance } from 'node:perf_hooks';
import { PodkeeperError } from '../errors.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { Recipe } from '../recipes/schema.js';
import type { EnvContext, PreparedEnv } from './context.js';
import { digest } from './key.js';
import { acquireLock } from './lock.js';
import { mayInstallSystemPackages, type ResolvedEnvMode } from './mode.js';
import { satisfiesPythonSpec } from './python-spec.js';
import { checkedRequirements, normalizeRequirements } from './requirements.js';
import { ensureSystemRequirements } from './system.js';
import { ensureSystemPackages } from './system-packages.js';

export class SystemEnvs {
  readonly #ctx: EnvContext;
  /** System-mode keys known satisfied; cleared by any system install. */
  readonly #satisfied = new Set<string>();
  /** Recipes whose system packages were found present. */
  readonly #systemPackagesOk = new Set<string>();

  constructor(ctx: EnvContext) {
    this.#ctx = ctx;
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
    const { options, store } = this.#ctx;
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
    const python = options.base.executable;
    const lock = await acquireLock(store.lock(`system-${digest(python)}`), {
      timeoutMs: options.timeoutMs * 2,
      staleMs: options.lockStaleMs,
      signal: this.#ctx.signal,
      done: async () => false,
    });
    try {
      const started = performance.now();
      const installed = await ensureSystemRequirements({
        recipe: recipe.name,
        installer: await this.#ctx.installer(),
        run: this.#ctx.runner(recipe.name),
        python,
        requirements: checkedRequirements(recipe.name, recipe.dependencies),
        wheelhouse: options.wheelhouse,
        progress: ({ phase, message }) => this.#ctx.progress(recipe.name, null)(phase, message),
      });
      if (installed) {
        // An install may have changed what other recipes rely on: check them again.
        this.#satisfied.clear();
        const ms = Math.round(performance.now() - started);
        options.emit({ event: 'env.built', recipe: recipe.name, hash: null, mode: 'system', ms });
      }
      this.#satisfied.add(key);
      return system;
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
