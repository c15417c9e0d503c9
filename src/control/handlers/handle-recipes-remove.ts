import type { Handler } from '../context.js';

/** `recipes.remove`: removes an installed recipe through the daemon's installer. */
export const handleRecipesRemove: Handler<'recipes.remove'> = async (payload, { services }) => {
  await services.installer.remove(payload.name);
  return {};
};
