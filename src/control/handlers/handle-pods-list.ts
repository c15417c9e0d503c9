import type { Handler } from '../context.js';

/** `pods.list`: every live pod with its measured RSS (null, with a `warning`, when it cannot be measured). */
export const handlePodsList: Handler<'pods.list'> = async (_payload, { manager }) => {
  const { pods, memory } = await manager.snapshot();
  return memory.warning === undefined ? { pods } : { pods, warning: memory.warning };
};
