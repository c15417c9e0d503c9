import type { Handler } from '../context.js';

/**
 * `call`: one request to a recipe's pod, spawned on demand. Progress and chunks go to the caller as
 * they arrive; a caller that cancels or leaves aborts the request (the pod is asked to cancel it),
 * but never the load of a pod that is still starting.
 */
export const handleCall: Handler<'call'> = (payload, context) =>
  context.manager.call(payload.target, payload.input ?? {}, {
    action: payload.action,
    timeout: payload.timeout,
    keepAlive: payload.keepAlive,
    signal: context.signal,
    onEvent: context.forward,
  });
