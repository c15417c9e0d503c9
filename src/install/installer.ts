/**
 * Recipe installs, upgrades and removals (docs/architecture.md#installs). Only composes; each step
 * is its own module:
 *
 *   source ─fetch/verify/unpack (source.ts)─▶ staging/<pid>-<id>/ ─validate (readRecipe)─▶
 *     ── one install of a name at a time (name-lock.ts) ──
 *     build or reuse the env (host.prepareEnv) ─▶ prefetch files + model ─▶ smoke start (host.smokeStart)
 *     ─▶ activate (store.ts: rename into recipes/.versions/, swap the recipes/<name> link)
 *     ─▶ host.reloadRecipes() (the old version's pod stops; calls now reach the new one)
 *     ─▶ remove the old version's folder
 *
 * A failure at any step throws before the link swap, so the previous version keeps serving, and the
 * staging folder goes; a process killed mid-install leaves only what `RecipeStore.cleanup()` removes
 * at the next start. Every step reports progress: `{step, progress?, message?}`.
 *
 * The steps: stage.ts (fetch, verify, unpack, validate), prepare.ts (env, prefetch, smoke),
 * activate.ts (swap in, reload); the options are in options.ts.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { PodkeeperError } from '../errors.js';
import type { AvailableRecipe, RecipeSummary } from '../protocol/control-results.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import { redactUrl } from '../redact.js';
import { activateRecipe } from './activate.js';
import type { InstallHost } from './host.js';
import { NameLocks } from './name-lock.js';
import { type InstallSettings, parseInstallSettings, type RecipeInstallerOptions } from './options.js';
import { reporter } from './progress.js';
import { loadIndex } from './recipe-index.js';
import type { FetchedRecipe } from './source.js';
import { RecipeStore } from './store.js';
import type { InstallRequest } from './types.js';

export type { RecipeInstallerOptions } from './options.js';
export type { InstallProgress, InstallRequest } from './types.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class RecipeInstaller {
  readonly store: RecipeStore;
  readonly #host: InstallHost;
  readonly #options: InstallSettings;
  readonly #log: Logger | undefined;
  readonly #locks: NameLocks;
  /** Settles once the leftovers of interrupted installs are gone. */
  readonly ready: Promise<void>;

  constructor(options: RecipeInstallerOptions) {
    const { host, logger, ...rest } = options;
    const settings = parseInstallSettings(rest);
    this.#host = host;
    this.#log = logger?.child({ component: 'installer' });
    this.#options = settings;
    this.store = new RecipeStore(host.home, this.#log);
    this.#locks = new NameLocks((name) => this.store.lockPath(name));
    this.ready = this.store.cleanup().then(
      () => undefined,
      (error: unknown) => this.#log?.warn({ err: error }, 'could not clean up after interrupted installs'),
    );
  }

  /** Installs (or upgrades) a recipe; resolves once it is in place and served. */
  async install(request: InstallRequest): Promise<RecipeSummary> {
    await this.ready;
    const started = performance.now();
    const progress = reporter(request.onProgress);
    const work = await this.store.stage();
    try {
      const options = this.#options;
      // Fetching, unpacking (tar) and preparing load on the first install, not with the daemon.
      const { stageRecipe } = await import('./stage.js');
      const { staged, fetched } = await stageRecipe(request, work, options, progress);
      const { recipe } = staged;
      const summary = await this.#locks.run(recipe.name, () => this.#complete(staged, fetched, request), {
        signal: request.signal,
        timeoutMs: options.lockTimeout * 1000,
        onWaiting: () =>
          progress('wait', undefined, `another install of ${recipe.name} is under way: waiting for it`),
      });
      this.#log?.info(
        {
          recipe: recipe.name,
          version: recipe.version,
          source: fetched.origin,
          ms: Math.round(performance.now() - started),
        },
        'recipe installed',
      );
      return summary;
    } catch (error) {
      const source = /^https?:/i.test(request.source) ? redactUrl(request.source) : request.source;
      const failure = asInstallError(error, source);
      this.#log?.warn({ source, code: failure.code }, failure.message);
      throw failure;
    } finally {
      await this.store.discard(work);
    }
  }

  /**
   * The index entry that serves `target` (by name, else capability), for the hint of a call to a
   * recipe that is not installed. Only a local index is read: an unknown target never goes online.
   */
  async installable(target: string): Promise<{ name: string; version: string } | undefined> {
    const location = this.#options.indexUrl;
    if (/^https?:\/\//.test(location)) return undefined;
    const index = await loadIndex(location, { workDir: tmpdir() }).catch(() => undefined);
    const entries = index?.recipes ?? [];
    const entry = entries.find((e) => e.name === target) ?? entries.find((e) => e.capability === target);
    return entry && { name: entry.name, version: entry.version };
  }

  /** The recipe index's entries, newest version of each name first; sizes as the index gives them. */
  async available(): Promise<AvailableRecipe[]> {
    const workDir = await mkdtemp(join(tmpdir(), 'podkeeper-index-'));
    try {
      const index = await loadIndex(this.#options.indexUrl, { workDir });
      return index.recipes.map(({ name, version, capability, description, sha256, size }) => ({
        name,
        version,
        capability,
        ...(description === undefined ? {} : { description }),
        sha256,
        size: size ?? null,
        installed: false,
      }));
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** Removes an installed recipe: its pods stop, its env is left to `gc`. Built-in recipes stay. */
  async remove(name: string): Promise<void> {
    await this.ready;
    if (!NAME.test(name)) {
      throw new PodkeeperError('UNKNOWN_TARGET', `"${name}" is not a recipe name.`, { details: { name } });
    }
    await this.#locks.run(
      name,
      async () => {
        const dir = await this.store.current(name);
        if (!dir) {
          const served = (await this.#host.recipes()).find((loaded) => loaded.recipe.name === name);
          if (served?.builtin) {
            throw new PodkeeperError('INSTALL_FAILED', `"${name}" is built in and cannot be removed.`, {
              details: { name },
            });
          }
          if (served) {
            throw new PodkeeperError(
              'INSTALL_FAILED',
              `"${name}" is not installed: it is served from ${served.dir} (the recipe path). Take it off PODKEEPER_RECIPE_PATH instead.`,
              { details: { name, dir: served.dir } },
            );
          }
          throw new PodkeeperError('UNKNOWN_TARGET', `No installed recipe named "${name}".`, {
            details: { name },
          });
        }
        await this.store.deactivate(name);
        await this.#host.reloadRecipes();
        await this.store.discard(dir);
        this.#log?.info({ recipe: name, dir }, 'recipe removed');
      },
      { timeoutMs: this.#options.lockTimeout * 1000 },
    );
  }

  /** Under the recipe's lock: env, prefetch, smoke start, activation. */
  async #complete(
    staged: LoadedRecipe,
    fetched: FetchedRecipe,
    request: InstallRequest,
  ): Promise<RecipeSummary> {
    const { prepareCandidate } = await import('./prepare.js');
    await prepareCandidate(this.#host, this.#options, staged, fetched, request);
    return activateRecipe(this.#host, this.store, staged, request);
  }
}

/** Coded errors pass through; anything else (a file system error, an abort) becomes a coded one. */
function asInstallError(error: unknown, source: string): PodkeeperError {
  if (error instanceof PodkeeperError) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new PodkeeperError('CANCELLED', `The install of "${source}" was cancelled.`, {
      details: { source },
    });
  }
  return new PodkeeperError(
    'INSTALL_FAILED',
    `The install of "${source}" failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error, details: { source } },
  );
}
