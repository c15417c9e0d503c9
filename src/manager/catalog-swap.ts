/**
 * Swapping in a re-read recipe catalog (after an install, an upgrade or a remove) and bringing up a
 * recipe's warm pool. A recipe that is gone, or now served from another folder, has its zygote
 * stopped and its supervisor dropped at once (the next call spawns from the new folder) while its old
 * pods drain; an installed or upgraded recipe gets its zygote and its `minWarm` pods.
 */
import type { Logger } from 'pino';
import type { LoadedRecipe, RecipeCatalog } from '../recipes/catalog.js';
import type { ResolvedOptions } from './options.js';
import type { StopReasons } from './stop-reasons.js';
import type { Supervisor } from './supervisor.js';
import type { Supervisors } from './supervisors.js';
import type { Zygotes } from './zygotes.js';

/** What {@link swapCatalog} needs from the manager. */
export interface CatalogSwapDeps extends WarmPoolDeps {
  supervisors: Supervisors;
  zygotes: Zygotes | undefined;
  stopReasons: StopReasons;
}

/** Swaps `before` for `after`; resolves once the old versions' pods have stopped. */
export async function swapCatalog(
  before: RecipeCatalog,
  after: RecipeCatalog,
  deps: CatalogSwapDeps,
): Promise<void> {
  const changed = (loaded: LoadedRecipe) => before.get(loaded.recipe.name)?.dir !== loaded.dir;
  // Zygotes follow the catalog: an upgraded or removed recipe's stops, an installed one's starts.
  const current = (name: string, dir: string) => after.get(name)?.dir === dir;
  const stale = deps.zygotes?.stopWhere((name, dir) => !current(name, dir));
  for (const loaded of after.list()) {
    if (loaded.recipe.preload.length === 0 || !changed(loaded)) continue;
    deps
      .startZygote(loaded.recipe.name)
      .catch((error: unknown) =>
        deps.log.warn({ recipe: loaded.recipe.name, err: error }, 'zygote: not started after the install'),
      );
  }
  await stale;
  const dropped = deps.supervisors.dropWhere((s) => {
    const stale = after.get(s.name)?.dir !== s.loaded.dir;
    if (stale) for (const pod of s.pods) deps.stopReasons.note(pod, { why: 'upgraded' });
    return stale;
  }, deps.options.drainTimeout * 1000);
  // An installed or upgraded recipe's warm pods start now; the old version's drain meanwhile.
  for (const loaded of after.list()) if (changed(loaded)) warmInBackground(loaded, deps);
  await dropped;
}

/** What {@link warmInBackground} needs from the manager. */
export interface WarmPoolDeps {
  /** `warmPools` (off: no pod starts before a call) and `drainTimeout`. */
  options: Pick<ResolvedOptions, 'warmPools' | 'drainTimeout'>;
  isClosing: () => boolean;
  startZygote: (recipe: string) => Promise<unknown>;
  supervisor: (recipe: string) => Promise<Supervisor>;
  log: Logger;
}

/**
 * Starts the `minWarm` pods of a recipe that asks for them (its zygote first when it has `preload`,
 * so they fork from it); failures are logged, a call then starts its pod as usual.
 */
export function warmInBackground(loaded: LoadedRecipe, deps: WarmPoolDeps): void {
  if (!deps.options.warmPools || loaded.recipe.minWarm === 0 || deps.isClosing()) return;
  const name = loaded.recipe.name;
  const warm = async () => {
    if (loaded.recipe.preload.length > 0) await deps.startZygote(name).catch(() => undefined);
    await (await deps.supervisor(name)).warm();
  };
  warm().catch((error: unknown) => {
    if (!deps.isClosing()) deps.log.warn({ recipe: name, err: error }, 'warm pool: pods not started');
  });
}
