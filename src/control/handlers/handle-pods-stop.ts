import type { PodSelector } from '../../manager/pod-manager.js';
import type { Handler } from '../context.js';

/** `pods.stop`: graceful stop of one recipe's pod, one pod, or all of them. */
export const handlePodsStop: Handler<'pods.stop'> = async (payload, { manager }) => {
  const selector: PodSelector =
    payload.all === true
      ? { all: true }
      : payload.podId !== undefined
        ? { podId: payload.podId }
        : { target: payload.target ?? '' };
  return { pods: await manager.stop(selector) };
};
