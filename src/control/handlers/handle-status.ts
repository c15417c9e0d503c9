import type { Handler } from '../context.js';

/** `status`: the daemon, its memory budget, and how many pods and recipes it has. */
export const handleStatus: Handler<'status'> = async (_payload, { services, manager }) => {
  const [memory, pods, recipes] = await Promise.all([manager.memory(), manager.list(), manager.recipes()]);
  return { ...services.describe(), memory, pods: pods.length, recipes: recipes.length };
};
