/**
 * Venv mode: checks a recipe's env (fingerprint, then every installed file once per process) and,
 * when it is missing or broken, builds it under its lock in a temporary folder and renames it in.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PodkeeperError } from '../errors.js';
import { acquireLock } from '../process/lock.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { Recipe } from '../recipes/schema.js';
import type { EnvContext, PreparedEnv } from './context.js';
import { checkEnv, ENV_PYTHON, type Fingerprint, verifyRecords, writeFingerprint } from './fingerprint.js';
import type { EnvKey } from './key.js';
import { checkedRequirements } from './requirements.js';
import { buildVenv } from './venv.js';

export class VenvEnvs {
  readonly #ctx: EnvContext;
  readonly #keyOf: (recipe: Recipe) => EnvKey;
  /** venv hashes being checked or built by this process, with how many preparations use each. */
  readonly #busy = new Map<string, number>();
  /** venv hashes whose every RECORD file was checked by this process. */
  readonly #verified = new Set<string>();

  constructor(ctx: EnvContext, keyOf: (recipe: Recipe) => EnvKey) {
    this.#ctx = ctx;
    this.#keyOf = keyOf;
  }

  /** The hashes being checked or built by this process. */
  building(): string[] {
    return [...this.#busy.keys()];
  }

  isBusy(hash: string): boolean {
    return this.#busy.has(hash);
  }

  /** The env was removed: check it in full again if it comes back. */
  removed(hash: string): void {
    this.#verified.delete(hash);
  }

  /**
   * The recipe's venv, checked or built. `only`: install exactly these (already resolved against the
   * base: a layered venv's differing packages) instead of the recipe's dependencies.
   */
  async prepare(loaded: LoadedRecipe, hash: string, only?: string[]): Promise<PreparedEnv> {
    this.#busy.set(hash, (this.#busy.get(hash) ?? 0) + 1);
    try {
      return await this.#checkOrBuild(loaded, hash, only);
    } finally {
      const left = (this.#busy.get(hash) ?? 1) - 1;
      if (left > 0) this.#busy.set(hash, left);
      else this.#busy.delete(hash);
    }
  }

  async #checkOrBuild(loaded: LoadedRecipe, hash: string, only: string[] | undefined): Promise<PreparedEnv> {
    const { store, options } = this.#ctx;
    const dir = store.dir(hash);
    const verdict = await checkEnv(dir, hash);
    if (verdict.ok && (await this.#deepCheck(dir, hash, verdict.fingerprint))) return venvOf(dir, hash);
    const progress = this.#ctx.progress(loaded.recipe.name, hash);
    const lock = await acquireLock(store.lock(hash), {
      timeoutMs: options.timeoutMs * 2,
      staleMs: options.lockStaleMs,
      signal: this.#ctx.signal,
      onWaiting: () => progress('waiting', 'another podkeeper process is building this env; waiting for it'),
      done: async () => (await checkEnv(dir, hash)).ok,
    });
    if (!lock) {
      this.#verified.add(hash);
      return venvOf(dir, hash);
    }
    try {
      return await this.#build(loaded, hash, dir, lock, only);
    } finally {
      await lock.release();
    }
  }

  /** Under the env's lock. */
  async #build(
    loaded: LoadedRecipe,
    hash: string,
    dir: string,
    lock: { compromised: Error | undefined },
    only: string[] | undefined,
  ): Promise<PreparedEnv> {
    const { store, options, log } = this.#ctx;
    const { recipe } = loaded;
    const progress = this.#ctx.progress(recipe.name, hash);
    const recheck = await checkEnv(dir, hash);
    if (recheck.ok && (await this.#deepCheck(dir, hash, recheck.fingerprint))) return venvOf(dir, hash);
    if (await exists(dir)) {
      const reason = recheck.ok ? 'an installed file is missing' : recheck.reason;
      progress('checking', `env ${hash} is unusable (${reason}); rebuilding it`);
      log.warn({ hash, reason }, 'discarding a broken env');
      await store.discard(dir, hash);
      options.emit({ event: 'env.removed', recipe: recipe.name, hash, reason: 'broken' });
    }
    for (const leftover of await store.leftovers(hash)) {
      await rm(leftover.path, { recursive: true, force: true, maxRetries: 3 });
    }
    const installer = await this.#ctx.installer();
    const key = this.#keyOf(recipe);
    // venvs made by `python -m venv` hold absolute paths: the pip fallback builds in place (the
    // fingerprint, written last, still marks the env complete). uv's are relocatable.
    const inPlace = installer.kind === 'pip';
    const work = inPlace ? dir : store.temp(hash);
    const started = performance.now();
    try {
      await mkdir(store.root, { recursive: true });
      await buildVenv(work, {
        recipe: recipe.name,
        hash,
        installer,
        run: this.#ctx.runner(recipe.name),
        base: options.base,
        pythonRequest: key.pythonRequest,
        requirements: only ?? checkedRequirements(recipe.name, recipe.dependencies),
        systemSitePackages: key.systemSitePackages === true,
        noDeps: only !== undefined,
        wheelhouse: options.wheelhouse,
        pythonDownloads: options.pythonDownloads,
        progress: ({ phase, message }) => progress(phase, message),
      });
      const buildMs = Math.round(performance.now() - started);
      const label = installer.kind === 'uv' ? `uv ${installer.version}` : 'pip';
      await writeFingerprint(work, { hash, key, installer: label, buildMs });
      if (lock.compromised) throw new Error(`lost the build lock (${lock.compromised.message})`);
      if (!inPlace) await rename(work, dir);
    } catch (error) {
      await rm(work, { recursive: true, force: true, maxRetries: 3 });
      if (this.#ctx.signal.aborted) {
        throw new PodkeeperError('SHUTTING_DOWN', 'podkeeper is shutting down; the env build was abandoned.');
      }
      throw error;
    }
    this.#verified.add(hash);
    const ms = Math.round(performance.now() - started);
    options.emit({ event: 'env.built', recipe: recipe.name, hash, mode: 'venv', ms });
    log.info({ recipe: recipe.name, hash, ms }, 'env built');
    return venvOf(dir, hash);
  }

  /** Every RECORD-listed file, once per env per process; a missing one marks the env broken. */
  async #deepCheck(dir: string, hash: string, fingerprint: Fingerprint): Promise<boolean> {
    if (this.#verified.has(hash)) return true;
    const missing = await verifyRecords(dir, fingerprint);
    if (missing !== undefined) {
      this.#ctx.log.warn({ hash, missing }, 'env is missing an installed file');
      return false;
    }
    this.#verified.add(hash);
    return true;
  }
}

function venvOf(dir: string, hash: string): PreparedEnv {
  return { kind: 'venv', executable: join(dir, ENV_PYTHON), hash, dir };
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
