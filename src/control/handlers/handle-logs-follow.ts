import type { Handler } from '../context.js';
import { logLineOf } from '../lifecycle-lines.js';
import { recipeOf, untilStreamEnds } from './stream.js';

/** `logs.follow`: the last `lines` lines, then every new one as a `pod.log` event, until cancelled. */
export const handleLogsFollow: Handler<'logs.follow'> = async (payload, context) => {
  const { manager, services, signal } = context;
  const recipe = await recipeOf(manager, payload.target);
  const { podId } = payload;
  context.emit({ event: 'stream.started' });
  for (const line of services.logs.tail(payload.lines ?? 0, { recipe, podId })) {
    context.emit({ event: 'pod.log', ...line });
  }
  const dispose = manager.events.on('event', (event) => {
    const line = logLineOf(event);
    if (!line) return;
    if ((recipe !== undefined && line.recipe !== recipe) || (podId !== undefined && line.podId !== podId))
      return;
    context.emit({ event: 'pod.log', ...line });
  });
  try {
    return await untilStreamEnds(signal);
  } finally {
    dispose();
  }
};
