/**
 * What an install needs from the rest of podkeeper, declared here so the installer depends on no
 * supervisor: the composition root (the daemon, or a library user through `installHostOf`) adapts
 * a `PodManager` to it.
 */
import type { PreparedEnv } from '../env/envs.js';
import type { LoadedRecipe } from '../recipes/catalog.js';

/** What a smoke start measured: the new recipe's first pod reached `ready`. */
export interface SmokeStartResult {
  spawnToReadyMs: number;
  memoryMB: number;
}

export interface InstallHost {
  /** The home installs write under (`recipes/`, `cache/files`, `models/`). */
  readonly home: string;
  /** Extra environment of every pod; the model download runs with it too. */
  readonly podEnvironment: Readonly<Record<string, string>>;
  /** Builds or checks the env a recipe's pods run in, passing its build's progress lines on. */
  prepareEnv(loaded: LoadedRecipe, onProgress?: (message: string) => void): Promise<PreparedEnv>;
  /** Spawns one pod of `loaded` (not yet served), waits until it is ready, stops it. */
  smokeStart(loaded: LoadedRecipe, options?: { signal?: AbortSignal }): Promise<SmokeStartResult>;
  /** Re-reads the recipe folders; pods of a recipe that changed or went drain, then stop (resolves then). */
  reloadRecipes(): Promise<void>;
  /** The recipes served now. */
  recipes(): Promise<LoadedRecipe[]>;
}
