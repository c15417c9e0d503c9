/**
 * The install steps run on the staged recipe under its name lock, before anything is swapped in:
 * build or reuse the env, prefetch the files and the model, write the install record, smoke start.
 */
import { join } from 'node:path';
import type { PreparedEnv } from '../env/envs.js';
import { isPodkeeperError, PodkeeperError } from '../errors.js';
import { BUILTIN_RECIPES_DIR } from '../paths.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import { type InstallRecord, writeInstallRecord } from '../recipes/install-record.js';
import { recipeSchema } from '../recipes/schema.js';
import type { InstallHost, SmokeStartResult } from './host.js';
import { type InstallSettings, retryOf } from './options.js';
import { prefetchFiles } from './prefetch-files.js';
import { type PrefetchedModel, prefetchModel } from './prefetch-model.js';
import { reporter } from './progress.js';
import type { FetchedRecipe } from './source.js';
import type { InstallRequest } from './types.js';

/** The staged recipe, with its install record and model, once a pod of it started. */
export async function prepareCandidate(
  host: InstallHost,
  options: InstallSettings,
  staged: LoadedRecipe,
  fetched: FetchedRecipe,
  request: InstallRequest,
): Promise<LoadedRecipe> {
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
  const env = await host.prepareEnv(staged, (message) => progress('env', undefined, message));
  progress('env', 1, envSummary(env));

  const files =
    recipe.files.length > 0
      ? await prefetchFiles(staged.dir, recipe.files, {
          cacheDir: join(host.home, 'cache', 'files'),
          maxBytes: options.maxFileMB * 1024 * 1024,
          ...retryOf(options),
          signal: request.signal,
          onProgress: (fraction, message) => progress('prefetch', fraction, message),
        })
      : [];
  const model = recipe.model ? await prefetchRecipeModel(host, options, staged, env, request) : undefined;
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
  let started: SmokeStartResult;
  try {
    started = await host.smokeStart(candidate, { signal: request.signal });
  } catch (error) {
    throw smokeFailure(recipe.name, error);
  }
  progress('smoke', 1, `ready in ${started.spawnToReadyMs} ms, ${started.memoryMB} MB`);
  return candidate;
}

async function prefetchRecipeModel(
  host: InstallHost,
  options: InstallSettings,
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
      cacheDir: join(host.home, 'models', 'huggingface'),
      // The download is the one step that goes online: a recipe's offline switches are for its pods.
      env: { ...process.env, ...host.podEnvironment, ...recipe.env, HF_HUB_OFFLINE: undefined },
      timeoutMs: options.modelTimeout * 1000,
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
    const tool = await host.prepareEnv(downloadEnvRecipe(), (message) =>
      progress('prefetch', undefined, message),
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

function envSummary(env: PreparedEnv): string {
  if (env.kind === 'venv') return `env ${env.hash}`;
  if (env.kind === 'remote') return 'placed on a remote launcher: its env is built on the node';
  return `${env.kind} interpreter ${env.executable}`;
}
