/** The first steps of an install: fetch, verify and unpack the source into staging, then validate it. */

import { PodkeeperError } from '../errors.js';
import { type LoadedRecipe, readRecipe } from '../recipes/catalog.js';
import { type InstallSettings, retryOf } from './options.js';
import type { Reporter } from './progress.js';
import { type FetchedRecipe, fetchRecipe } from './source.js';
import type { InstallRequest } from './types.js';

export async function stageRecipe(
  request: InstallRequest,
  work: string,
  options: InstallSettings,
  progress: Reporter,
): Promise<{ staged: LoadedRecipe; fetched: FetchedRecipe }> {
  const fetched = await fetchRecipe(request.source, {
    workDir: work,
    indexUrl: options.indexUrl,
    sha256: request.sha256,
    insecure: request.insecure,
    maxArchiveBytes: options.maxArchiveMB * 1024 * 1024,
    unpacked: { maxBytes: options.maxUnpackedMB * 1024 * 1024, maxEntries: options.maxEntries },
    retry: retryOf(options),
    signal: request.signal,
    progress,
  });
  progress('validate', undefined, 'reading recipe.json');
  const staged = await readRecipe(fetched.dir).catch((error: unknown) => {
    // Name what the user gave, not the staging copy it was read from.
    if (!(error instanceof PodkeeperError)) throw error;
    throw new PodkeeperError(error.code, error.message.replaceAll(fetched.dir, fetched.origin), {
      cause: error.cause,
      details: {
        ...error.details,
        ...(typeof error.details['file'] === 'string'
          ? { file: error.details['file'].replaceAll(fetched.dir, fetched.origin) }
          : {}),
        source: fetched.origin,
      },
    });
  });
  const { recipe } = staged;
  if (fetched.indexName !== undefined && recipe.name !== fetched.indexName) {
    throw new PodkeeperError(
      'INSTALL_FAILED',
      `The recipe index lists "${fetched.indexName}", but its archive holds a recipe named "${recipe.name}".`,
      { details: { source: fetched.origin } },
    );
  }
  progress('validate', 1, `${recipe.name} ${recipe.version} (${recipe.capability})`);
  return { staged, fetched };
}
