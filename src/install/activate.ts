/**
 * The last install step: move the staged recipe into recipes/.versions/, swap the recipes/<name>
 * link, reload the recipes (new calls reach the new version at once; the old version's pod finishes
 * its calls in flight, then stops) and remove the old version's folder once it has.
 */

import type { RecipeSummary } from '../protocol/control-results.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { InstallHost } from './host.js';
import { reporter } from './progress.js';
import type { RecipeStore } from './store.js';
import type { InstallRequest } from './types.js';

export async function activateRecipe(
  host: InstallHost,
  store: RecipeStore,
  staged: LoadedRecipe,
  request: InstallRequest,
): Promise<RecipeSummary> {
  const { recipe } = staged;
  const progress = reporter(request.onProgress);
  request.signal?.throwIfAborted();
  progress('activate', undefined, `moving ${recipe.name} ${recipe.version} into place`);
  const { dir, previous } = await store.activate(recipe.name, recipe.version, staged.dir);
  await host.reloadRecipes();
  if (previous && previous !== dir) await store.discard(previous);
  const served = (await host.recipes()).find((loaded) => loaded.recipe.name === recipe.name);
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
