/**
 * What a manager loads when it starts and reloads: its recipe catalog (the recipe path, then the
 * installed recipes, then the built-in ones: earlier ones shadow later ones) and its Environments
 * on the resolved base interpreter.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Environments } from '../env/envs.js';
import { insideContainer } from '../env/mode.js';
import { resolvePython } from '../env/python.js';
import { BUILTIN_RECIPES_DIR } from '../paths.js';
import { RecipeCatalog, type RecipeSource } from '../recipes/catalog.js';
import type { ManagerEvent } from './events.js';
import type { ResolvedOptions } from './options.js';

/** Reads the recipe folders; a recipe that cannot be read is logged and left out. */
export async function loadCatalog(options: ResolvedOptions, log: Logger): Promise<RecipeCatalog> {
  const sources: RecipeSource[] = options.recipePath.map((dir) => ({ dir, builtin: false }));
  sources.push({ dir: join(options.home, 'recipes'), builtin: false, installed: true });
  if (options.builtinRecipes) sources.push({ dir: BUILTIN_RECIPES_DIR, builtin: true });
  const catalog = await RecipeCatalog.load(sources);
  for (const problem of catalog.problems) log.warn({ file: problem.file }, problem.error.message);
  return catalog;
}

export async function startManager(
  options: ResolvedOptions,
  log: Logger,
  emit: (event: ManagerEvent) => void,
): Promise<{ catalog: RecipeCatalog; environments: Environments }> {
  const [catalog, python] = await Promise.all([loadCatalog(options, log), resolvePython(options.python)]);
  const environments = new Environments({
    home: options.home,
    mode: options.envMode,
    base: python,
    uv: options.uv,
    wheelhouse: options.wheelhouse,
    pythonDownloads: options.pythonDownloads,
    timeoutMs: options.envBuildTimeout * 1000,
    env: { ...process.env, ...options.env },
    logger: log,
    emit,
    container: insideContainer(),
  });
  return { catalog, environments };
}
