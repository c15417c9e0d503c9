import type { Handler } from '../context.js';

/** `pods.list`: every live pod with its measured RSS. */
export const handlePodsList: Handler<'pods.list'> = async (_payload, { manager }) => ({
  pods: await manager.list(),
});
