/** What the installer needs from the pod manager (PodManager implements it). */
import type { PreparedEnv } from '../env/envs.js';
import type { ManagerEvent } from '../manager/events.js';
import type { LoadedRecipe } from '../recipes/catalog.js';

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
  /** Re-reads the recipe folders; pods of a recipe that changed or went drain, then stop (resolves then). */
  reloadRecipes(): Promise<void>;
  recipes(): Promise<LoadedRecipe[]>;
}
