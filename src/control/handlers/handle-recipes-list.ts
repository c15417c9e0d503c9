import type { Handler } from '../context.js';

/** `recipes.list`: every recipe the daemon serves, built-in and installed. */
export const handleRecipesList: Handler<'recipes.list'> = async (_payload, { manager }) => ({
  recipes: (await manager.recipes()).map(({ recipe, dir, builtin }) => ({
    name: recipe.name,
    version: recipe.version,
    capability: recipe.capability,
    ...(recipe.description === undefined ? {} : { description: recipe.description }),
    source: dir,
    builtin,
  })),
});
