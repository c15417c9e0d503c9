import type { Handler } from '../context.js';
import { recipeOf, untilStreamEnds } from './stream.js';

/** `events.subscribe`: the manager's events (filtered by name, recipe, pod) until cancelled. */
export const handleEventsSubscribe: Handler<'events.subscribe'> = async (payload, context) => {
  const { manager, signal } = context;
  const recipe = await recipeOf(manager, payload.target);
  const names = payload.events === undefined ? undefined : new Set<string>(payload.events);
  const { podId } = payload;
  context.emit({ event: 'stream.started' });
  const dispose = manager.events.on('event', (event) => {
    if (names !== undefined && !names.has(event.event)) return;
    if (recipe !== undefined && (!('recipe' in event) || event.recipe !== recipe)) return;
    if (podId !== undefined && (!('podId' in event) || event.podId !== podId)) return;
    context.emit(event);
  });
  try {
    return await untilStreamEnds(signal);
  } finally {
    dispose();
  }
};
