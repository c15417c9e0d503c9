import type { Handler } from '../context.js';

/**
 * `pods.start`: starts the target's pod (clearing a fatal state) and answers once it is ready. A
 * client that leaves meanwhile does not stop the load: the pod stays warm for the next caller.
 */
export const handlePodsStart: Handler<'pods.start'> = (payload, { manager }) => manager.start(payload.target);
