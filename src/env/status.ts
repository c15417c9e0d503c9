/** What envs are on disk and who uses them (`status`), and removing the unused ones (`gc`). */
import { rm } from 'node:fs/promises';
import { tryLock } from '../process/lock.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { Recipe } from '../recipes/schema.js';
import type { EnvContext, InstallerState } from './context.js';
import { bytesFreedByRemoving } from './disk-usage.js';
import { checkEnv } from './fingerprint.js';
import { needsVenv } from './key.js';
import type { EnvMode, ResolvedEnvMode } from './mode.js';
import type { VenvEnvs } from './prepare-venv.js';
import type { PythonInterpreter } from './python.js';
import { envsInUseByProcesses } from './store.js';

export interface EnvInfo {
  hash: string;
  dir: string;
  /** The known recipes that run in it (none: gc removes it). */
  recipes: string[];
  ok: boolean;
  /** Why it is not usable (it will be rebuilt on next use). */
  problem?: string;
  python?: string;
  dependencies?: string[];
  builtAt?: string;
  installer?: string;
}

export interface EnvironmentStatus {
  mode: ResolvedEnvMode;
  requestedMode: EnvMode;
  container: boolean;
  base: PythonInterpreter;
  /** What builds envs: uv (and where it came from), the pip fallback, or why there is none. */
  installer: InstallerState;
  wheelhouse: string | null;
  envsDir: string;
  envs: EnvInfo[];
  building: string[];
}

export interface GcResult {
  removed: string[];
  /** Disk the removals gave back (files hard-linked elsewhere, as from uv's cache, excepted). */
  freedBytes: number;
  kept: { hash: string; reason: 'referenced' | 'in use' | 'building' }[];
}

export async function envStatus(
  ctx: EnvContext,
  mode: ResolvedEnvMode,
  venvs: VenvEnvs,
  recipes: readonly LoadedRecipe[],
  hashOf: (recipe: Recipe) => string,
): Promise<EnvironmentStatus> {
  const { options, store } = ctx;
  const installer = await ctx.installerState();
  const users = new Map<string, string[]>();
  for (const { recipe } of recipes) {
    if (!needsVenv(recipe, options.base)) continue;
    const hash = hashOf(recipe);
    users.set(hash, [...(users.get(hash) ?? []), recipe.name]);
  }
  const envs = await Promise.all(
    (await store.hashes()).map(async (hash): Promise<EnvInfo> => {
      const dir = store.dir(hash);
      const verdict = await checkEnv(dir, hash);
      const names = users.get(hash) ?? [];
      if (!verdict.ok) return { hash, dir, recipes: names, ok: false, problem: verdict.reason };
      const { fingerprint } = verdict;
      return {
        hash,
        dir,
        recipes: names,
        ok: true,
        python: fingerprint.python.version,
        dependencies: fingerprint.key.dependencies,
        builtAt: fingerprint.builtAt,
        installer: fingerprint.installer,
      };
    }),
  );
  return {
    mode,
    requestedMode: options.mode,
    container: options.container,
    base: options.base,
    installer,
    wheelhouse: options.wheelhouse ?? null,
    envsDir: store.root,
    envs,
    building: venvs.building(),
  };
}

export async function collectGarbage(
  ctx: EnvContext,
  venvs: VenvEnvs,
  recipes: readonly LoadedRecipe[],
  inUse: Iterable<string>,
  hashOf: (recipe: Recipe) => string,
): Promise<GcResult> {
  const { options, store, log } = ctx;
  const referenced = new Set(
    recipes.filter(({ recipe }) => needsVenv(recipe, options.base)).map(({ recipe }) => hashOf(recipe)),
  );
  const live = await envsInUseByProcesses(store.root);
  for (const hash of inUse) live.add(hash);
  const result: GcResult = { removed: [], freedBytes: 0, kept: [] };
  for (const hash of await store.hashes()) {
    let freed = 0;
    if (referenced.has(hash)) result.kept.push({ hash, reason: 'referenced' });
    else if (live.has(hash)) result.kept.push({ hash, reason: 'in use' });
    else if (
      venvs.isBusy(hash) ||
      !(await underLock(ctx, hash, async () => {
        freed = await bytesFreedByRemoving(store.dir(hash));
        await store.discard(store.dir(hash), hash);
      }))
    ) {
      result.kept.push({ hash, reason: 'building' });
    } else {
      result.removed.push(hash);
      result.freedBytes += freed;
      venvs.removed(hash);
      options.emit({ event: 'env.removed', recipe: null, hash, reason: 'gc' });
      log.info({ hash }, 'removed an unreferenced env');
    }
  }
  for (const leftover of await store.leftovers()) {
    if (venvs.isBusy(leftover.hash)) continue;
    await underLock(ctx, leftover.hash, async () => {
      result.freedBytes += await bytesFreedByRemoving(leftover.path);
      await rm(leftover.path, { recursive: true, force: true, maxRetries: 3 });
    });
  }
  return result;
}

async function underLock(ctx: EnvContext, hash: string, work: () => Promise<unknown>): Promise<boolean> {
  const lock = await tryLock(ctx.store.lock(hash), ctx.options.lockStaleMs);
  if (!lock) return false;
  try {
    await work();
    return true;
  } finally {
    await lock.release();
  }
}
