/**
 * The launcher seam: how a pod's process is started, signalled and measured, below `Pod`.
 *
 *   manager ─prepare(recipe)─▶ Launcher ─start(prepared, {podId, env})─▶ PodProcess ─▶ Pod
 *             local: build or reuse the env      stdin/stdout/stderr, exited, signal(sig), where
 *             remote: a config check
 *
 * The pod never knows which launcher started it: it speaks the pod protocol to the process's stdio,
 * signals it, and reads its exit (a remote launcher adds a coded `failure`: REMOTE_LOST…).
 */
import type { PreparedEnv } from '../env/envs.js';
import type { PodProcess } from '../pod/spawn.js';
import type { LoadedRecipe } from '../recipes/catalog.js';

export type Locality = 'local' | 'remote';

/** What `prepare` found or built, handed back to `start`. */
export interface Prepared {
  loaded: LoadedRecipe;
  /** The local Python env (local launcher only). */
  env?: PreparedEnv;
  /** The interpreter the launcher runs (the bridge's, for Ray). */
  executable?: string;
}

export interface PodStart {
  podId: string;
  /** The pod's environment: for a remote pod it travels to the node, never into the cluster's config. */
  env: Record<string, string | undefined>;
}

export interface Launcher {
  readonly name: string;
  readonly locality: Locality;
  prepare(loaded: LoadedRecipe): Promise<Prepared>;
  start(prepared: Prepared, start: PodStart): PodProcess;
  /** At daemon start: ends what an earlier daemon left running, if the launcher can find it. */
  reap?(): Promise<void>;
  /** What the infrastructure has free, by resource name, when it can say. */
  capacity?(): Promise<Record<string, number>>;
}
