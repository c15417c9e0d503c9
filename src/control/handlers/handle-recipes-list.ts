import type { Handler } from '../context.js';

/**
 * `recipes.list`: every recipe the daemon serves, built-in and installed; with `available`, also
 * the recipe index, each entry marked installed when a recipe of its name is (not built in).
 */
export const handleRecipesList: Handler<'recipes.list'> = async (payload, { manager, services }) => {
  const loaded = await manager.recipes();
  const recipes = loaded.map(({ recipe, dir, builtin }) => ({
    name: recipe.name,
    version: recipe.version,
    capability: recipe.capability,
    ...(recipe.description === undefined ? {} : { description: recipe.description }),
    source: dir,
    builtin,
  }));
  if (!payload.available || !services.installer.available) return { recipes };
  const installed = new Set(loaded.filter((r) => !r.builtin).map((r) => r.recipe.name));
  const available = (await services.installer.available()).map((entry) => ({
    ...entry,
    installed: installed.has(entry.name),
  }));
  return { recipes, available };
};
