import type { Handler } from '../context.js';
import { recipeOf } from './stream.js';

/** `logs.tail`: recent log lines of a recipe (by name or capability), a pod, or every pod. */
export const handleLogsTail: Handler<'logs.tail'> = async (payload, { services, manager }) => {
  const recipe = await recipeOf(manager, payload.target);
  return { lines: services.logs.tail(payload.lines ?? 100, { recipe, podId: payload.podId }) };
};
