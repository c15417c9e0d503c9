/** Shared by the streaming handlers: how a stream ends, and which recipe a `target` filter names. */
import { isPodkeeperError } from '../../errors.js';
import type { PodManager } from '../../manager/pod-manager.js';

/**
 * Resolves `{}` when the client cancels the stream; rejects with the reason when the daemon ends it
 * (`SHUTTING_DOWN`). A client that left gets nothing either way.
 */
export function untilStreamEnds(signal: AbortSignal): Promise<Record<string, never>> {
  return new Promise((resolve, reject) => {
    const end = () => (isPodkeeperError(signal.reason, 'CANCELLED') ? resolve({}) : reject(signal.reason));
    if (signal.aborted) end();
    else signal.addEventListener('abort', end, { once: true });
  });
}

/** The recipe name a target (a recipe or a capability) stands for; `UNKNOWN_TARGET` if none. */
export async function recipeOf(manager: PodManager, target: string | undefined): Promise<string | undefined> {
  if (target === undefined) return undefined;
  return (await manager.recipeFor(target)).recipe.name;
}
