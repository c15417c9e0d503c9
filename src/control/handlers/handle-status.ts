import type { Handler } from '../context.js';

/**
 * `status`: the daemon, its memory budget, its Python environments, how many pods and recipes, and
 * the recipes that are fatal (with their last stderr lines), the zygotes. Memory comes from one shared sample.
 */
export const handleStatus: Handler<'status'> = async (_payload, { services, manager }) => {
  const [{ memory, pods }, recipes, env, zygotes] = await Promise.all([
    manager.snapshot(),
    manager.recipes(),
    manager.environment(),
    manager.zygotes(),
  ]);
  const environment = {
    mode: env.mode,
    requestedMode: env.requestedMode,
    container: env.container,
    installer: env.installer,
    wheelhouse: env.wheelhouse,
    envsDir: env.envsDir,
    envs: env.envs.length,
  };
  return {
    ...services.describe(),
    envMode: env.mode,
    environment,
    memory,
    pods: pods.length,
    recipes: recipes.length,
    fatal: manager.fatalRecipes(),
    zygotes,
  };
};
