/**
 * Recipe installs, upgrades and removals (DESIGN §5). Only composes; each step is its own module:
 *
 *   source ─fetch/verify/unpack (source.ts)─▶ staging/<pid>-<id>/ ─validate (readRecipe)─▶
 *     ── one install of a name at a time (name-lock.ts) ──
 *     build or reuse the env (host.prepareEnv) ─▶ prefetch files + model ─▶ smoke start (host.trial)
 *     ─▶ activate (store.ts: rename into recipes/.versions/, swap the recipes/<name> link)
 *     ─▶ host.reloadRecipes() (the old version's pod stops; calls now reach the new one)
 *     ─▶ remove the old version's folder
 *
 * A failure at any step throws before the link swap, so the previous version keeps serving, and the
 * staging folder goes; a process killed mid-install leaves only what `RecipeStore.cleanup()` removes
 * at the next start. Every step reports progress: `{step, progress?, message?}`.
 */

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { PreparedEnv } from '../../env/envs.js';
import { isPodkeeperError, PodkeeperError } from '../../errors.js';
import type { ManagerEvent } from '../../manager/events.js';
import { BUILTIN_RECIPES_DIR } from '../../paths.js';
import type { RecipeSummary } from '../../protocol/control.js';
import { type LoadedRecipe, readRecipe } from '../catalog.js';
import { recipeSchema } from '../schema.js';
import { redactUrl } from './download.js';
import { NameLocks } from './name-lock.js';
import { prefetchFiles } from './prefetch-files.js';
import { type PrefetchedModel, prefetchModel } from './prefetch-model.js';
import { type InstallRecord, writeInstallRecord } from './record.js';
import { type FetchedRecipe, fetchRecipe } from './source.js';
import { RecipeStore } from './store.js';

/** What the installer needs from the pod manager (PodManager implements it). */
export interface InstallHost {
  readonly options: { readonly home: string; readonly env: Record<string, string> };
  readonly events: { on(name: 'event', listener: (event: ManagerEvent) => void): () => void };
  /** Builds or checks the env a recipe's pods run in. */
  prepareEnv(loaded: LoadedRecipe): Promise<PreparedEnv>;
  /** Spawns one pod of `loaded`, waits until it is ready, stops it. */
  trial(
    loaded: LoadedRecipe,
    options?: { signal?: AbortSignal },
  ): Promise<{ spawnToReadyMs: number; memoryMB: number }>;
  /** Re-reads the recipe folders; pods of a recipe that changed or went are stopped. */
  reloadRecipes(): Promise<void>;
  recipes(): Promise<LoadedRecipe[]>;
}

export interface InstallProgress {
  /** fetch, verify, unpack, validate, wait, env, prefetch, smoke, activate, done */
  step: string;
  /** 0..1 within the step, when known. */
  progress?: number;
  message?: string;
}

export interface InstallRequest {
  /** A directory, a .tar.gz, an http(s) URL of a tarball, or `name[@version]` from the index. */
  source: string;
  sha256?: string;
  /** Allow a remote source without sha256. */
  insecure?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: InstallProgress) => void;
}

const optionsSchema = z.object({
  /** The recipe index: an http(s) URL, a file URL or a path. @default $PODKEEPER_INDEX_URL, else the bundled recipes/index.json */
  indexUrl: z.string().min(1).optional(),
  /** MB a recipe archive (downloaded or local) may have. @default 256 */
  maxArchiveMB: z.number().positive().default(256),
  /** MB a recipe may unpack to. @default 1024 */
  maxUnpackedMB: z.number().positive().default(1024),
  /** Members a recipe archive may have. @default 20 000 */
  maxEntries: z.number().int().positive().default(20_000),
  /** MB one of a recipe's `files` may have. @default 51 200 */
  maxFileMB: z.number().positive().default(51_200),
  /** Attempts per download. @default 4 */
  attempts: z.number().int().min(1).default(4),
  /** Milliseconds before the first retry (doubled for each next). @default 500 */
  backoffMs: z.number().min(0).default(500),
  /** Seconds without a byte before a download attempt is abandoned. @default 30 */
  stallTimeout: z.number().positive().default(30),
  /** Seconds a model download may take. @default 3600 */
  modelTimeout: z.number().positive().default(3600),
  /** Seconds to wait for another process's install of the same recipe. @default 3600 */
  lockTimeout: z.number().positive().default(3600),
});

export type RecipeInstallerOptions = z.input<typeof optionsSchema> & {
  host: InstallHost;
  logger?: Logger;
};

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class RecipeInstaller {
  readonly store: RecipeStore;
  readonly #host: InstallHost;
  readonly #options: z.infer<typeof optionsSchema> & { indexUrl: string };
  readonly #log: Logger | undefined;
  readonly #locks: NameLocks;
  /** Settles once the leftovers of interrupted installs are gone. */
  readonly ready: Promise<void>;

  constructor(options: RecipeInstallerOptions) {
    const { host, logger, ...rest } = options;
    const parsed = optionsSchema.safeParse(rest);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? '?';
      throw new PodkeeperError(
        'INVALID_OPTION',
        `Expected installer option \`${field}\` to be valid (${issue?.message}), got ${JSON.stringify((rest as Record<string, unknown>)[field])}.`,
        { details: { field } },
      );
    }
    this.#host = host;
    this.#log = logger?.child({ component: 'installer' });
    this.#options = {
      ...parsed.data,
      indexUrl:
        parsed.data.indexUrl ??
        (process.env['PODKEEPER_INDEX_URL'] || join(BUILTIN_RECIPES_DIR, 'index.json')),
    };
    this.store = new RecipeStore(host.options.home, this.#log);
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
      const fetched = await fetchRecipe(request.source, {
        workDir: work,
        indexUrl: options.indexUrl,
        sha256: request.sha256,
        insecure: request.insecure,
        maxArchiveBytes: options.maxArchiveMB * 1024 * 1024,
        unpacked: { maxBytes: options.maxUnpackedMB * 1024 * 1024, maxEntries: options.maxEntries },
        retry: this.#retry(),
        signal: request.signal,
        progress,
      });
      progress('validate', undefined, 'reading recipe.json');
      const staged = await readRecipe(fetched.dir);
      const { recipe } = staged;
      if (fetched.indexName !== undefined && recipe.name !== fetched.indexName) {
        throw new PodkeeperError(
          'INSTALL_FAILED',
          `The recipe index lists "${fetched.indexName}", but its archive holds a recipe named "${recipe.name}".`,
          { details: { source: fetched.origin } },
        );
      }
      progress('validate', 1, `${recipe.name} ${recipe.version} (${recipe.capability})`);
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

  // ---------------------------------------------------------------- internals

  /** Under the recipe's lock: env, prefetch, smoke start, activation. */
  async #complete(
    staged: LoadedRecipe,
    fetched: FetchedRecipe,
    request: InstallRequest,
  ): Promise<RecipeSummary> {
    const { recipe } = staged;
    const progress = reporter(request.onProgress);
    request.signal?.throwIfAborted();

    progress(
      'env',
      undefined,
      recipe.dependencies.length > 0
        ? `preparing the env for ${recipe.dependencies.join(', ')}`
        : 'no dependencies: the base interpreter',
    );
    const env = await this.#withEnvProgress(recipe.name, progress, () => this.#host.prepareEnv(staged));
    progress('env', 1, env.kind === 'venv' ? `env ${env.hash}` : `${env.kind} interpreter ${env.executable}`);

    const files =
      recipe.files.length > 0
        ? await prefetchFiles(staged.dir, recipe.files, {
            cacheDir: join(this.#host.options.home, 'cache', 'files'),
            maxBytes: this.#options.maxFileMB * 1024 * 1024,
            ...this.#retry(),
            signal: request.signal,
            onProgress: (fraction, message) => progress('prefetch', fraction, message),
          })
        : [];
    const model = recipe.model ? await this.#prefetchModel(staged, env, request) : undefined;
    const record: InstallRecord = {
      source: fetched.origin,
      ...(fetched.sha256 ? { sha256: fetched.sha256 } : {}),
      installedAt: new Date().toISOString(),
      ...(model
        ? { model: { repo: model.repo, revision: model.revision, commit: model.commit, path: model.path } }
        : {}),
      files: files.map(({ path, sha256 }) => ({ path, sha256 })),
    };
    await writeInstallRecord(staged.dir, record);

    progress('smoke', undefined, 'starting a pod and waiting for ready');
    const candidate: LoadedRecipe = {
      ...staged,
      install: record,
      ...(model ? { modelPath: model.path } : {}),
    };
    let trial: { spawnToReadyMs: number; memoryMB: number };
    try {
      trial = await this.#host.trial(candidate, { signal: request.signal });
    } catch (error) {
      throw smokeFailure(recipe.name, error);
    }
    progress('smoke', 1, `ready in ${trial.spawnToReadyMs} ms, ${trial.memoryMB} MB`);

    request.signal?.throwIfAborted();
    progress('activate', undefined, `moving ${recipe.name} ${recipe.version} into place`);
    const { dir, previous } = await this.store.activate(recipe.name, recipe.version, staged.dir);
    await this.#host.reloadRecipes();
    if (previous && previous !== dir) await this.store.discard(previous);
    const served = (await this.#host.recipes()).find((loaded) => loaded.recipe.name === recipe.name);
    if (served && served.dir !== dir) {
      progress('activate', undefined, `note: ${recipe.name} from ${served.dir} shadows the installed one`);
    }
    progress(
      'done',
      1,
      `installed ${recipe.name} ${recipe.version}${previous ? ' (the previous version is gone)' : ''}`,
    );
    return {
      name: recipe.name,
      version: recipe.version,
      capability: recipe.capability,
      ...(recipe.description === undefined ? {} : { description: recipe.description }),
      source: dir,
      builtin: false,
    };
  }

  async #prefetchModel(
    staged: LoadedRecipe,
    env: PreparedEnv,
    request: InstallRequest,
  ): Promise<PrefetchedModel> {
    const { recipe } = staged;
    const progress = reporter(request.onProgress);
    const repo = recipe.model as string;
    const run = (python: string) =>
      prefetchModel({
        python,
        repo,
        revision: recipe.revision,
        cacheDir: join(this.#host.options.home, 'models', 'huggingface'),
        // The download is the one step that goes online: a recipe's offline switches are for its pods.
        env: { ...process.env, ...this.#host.options.env, ...recipe.env, HF_HUB_OFFLINE: undefined },
        timeoutMs: this.#options.modelTimeout * 1000,
        signal: request.signal,
        onProgress: (fraction, message) => progress('prefetch', fraction, message),
      });
    progress('prefetch', undefined, `model ${repo} at ${recipe.revision ?? 'main'}`);
    let model: PrefetchedModel;
    try {
      model = await run(env.executable);
    } catch (error) {
      if (!isPodkeeperError(error) || error.details['reason'] !== 'no-hub') throw error;
      progress(
        'prefetch',
        undefined,
        "huggingface_hub is not in the recipe's env: using podkeeper's download env",
      );
      const tool = await this.#withEnvProgress(recipe.name, progress, () =>
        this.#host.prepareEnv(downloadEnvRecipe()),
      );
      model = await run(tool.executable);
    }
    if (recipe.revision === undefined) {
      progress('prefetch', undefined, `no revision pinned: recorded ${repo} at commit ${model.commit}`);
    }
    progress(
      'prefetch',
      1,
      `model ${repo}@${model.commit.slice(0, 12)} ${model.cached ? 'already cached' : 'downloaded'}`,
    );
    return model;
  }

  async #withEnvProgress<T>(recipe: string, progress: Reporter, work: () => Promise<T>): Promise<T> {
    const dispose = this.#host.events.on('event', (event) => {
      if (event.event === 'env.progress' && event.recipe === recipe)
        progress('env', undefined, event.message);
    });
    try {
      return await work();
    } finally {
      dispose();
    }
  }

  #retry() {
    return {
      attempts: this.#options.attempts,
      backoffMs: this.#options.backoffMs,
      stallMs: this.#options.stallTimeout * 1000,
    };
  }
}

type Reporter = (step: string, fraction?: number, message?: string) => void;

function reporter(onProgress: InstallRequest['onProgress']): Reporter {
  return (step, fraction, message) => {
    if (!onProgress) return;
    const event: InstallProgress = { step };
    if (fraction !== undefined && Number.isFinite(fraction))
      event.progress = Math.min(1, Math.max(0, fraction));
    if (message !== undefined) event.message = message;
    onProgress(event);
  };
}

/** The env podkeeper downloads models with when a recipe's own env has no huggingface_hub. */
function downloadEnvRecipe(): LoadedRecipe {
  const transfer = /^(1|true|yes|on)$/i.test(process.env['HF_HUB_ENABLE_HF_TRANSFER'] ?? '');
  return {
    recipe: recipeSchema.parse({
      name: 'podkeeper-model-download',
      capability: 'model-download',
      entry: 'none.py',
      dependencies: transfer ? ['huggingface_hub', 'hf_transfer'] : ['huggingface_hub'],
    }),
    dir: BUILTIN_RECIPES_DIR,
    builtin: false,
  };
}

function smokeFailure(name: string, error: unknown): PodkeeperError {
  if (isPodkeeperError(error) && (error.code === 'CANCELLED' || error.code === 'SHUTTING_DOWN')) return error;
  const cause = isPodkeeperError(error) ? error : undefined;
  return new PodkeeperError(
    'INSTALL_FAILED',
    `The smoke start of "${name}" failed, so it was not installed (the previous version, if any, stays): ` +
      `${cause ? `${cause.code}: ` : ''}${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
      details: { step: 'smoke', recipe: name, ...(cause ? { podError: cause.toJSON() } : {}) },
    },
  );
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
