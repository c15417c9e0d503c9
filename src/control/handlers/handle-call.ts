import { isPodkeeperError, PodkeeperError } from '../../errors.js';
import type { Installer } from '../../install/types.js';
import type { CallOptions } from '../../manager/pod-call.js';
import type { ControlPayload } from '../../protocol/control.js';
import { coldStartReporter } from '../cold-start.js';
import type { Handler, HandlerContext } from '../context.js';

/**
 * `call`: one request to a recipe's pod, spawned on demand. Progress and chunks go to the caller as
 * they arrive; a caller that cancels or leaves aborts the request (the pod is asked to cancel it),
 * but never the load of a pod that is still starting. A call that has to wait for its recipe's env
 * or pod also gets what the daemon is doing meanwhile, as progress with a `stage`: the env build
 * (never going backwards) and the pod's start with its own log lines, until it is ready (a warm call
 * skips this: no listener on the hot path).
 */
export const handleCall: Handler<'call'> = (payload, context) => {
  const options = {
    action: payload.action,
    timeout: payload.timeout,
    keepAlive: payload.keepAlive,
    cancellation: context.cancellation, // not `signal`: no AbortController per call
    onEvent: context.forward,
    raw: true, // a big result goes to the client as the bytes the pod wrote (raw-json.ts)
  };
  const input = payload.input ?? {};
  // Not async: the warm call's own promise is the answer (an async wrapper costs three more ticks).
  if (context.manager.isWarm(payload.target)) return context.manager.call(payload.target, input, options);
  return coldCall(payload, input, options, context);
};

async function coldCall(
  payload: ControlPayload<'call'>,
  input: unknown,
  options: CallOptions,
  context: HandlerContext,
): Promise<unknown> {
  const { manager } = context;
  const recipe = (
    await manager
      .recipeFor(payload.target)
      .catch((error: unknown) => withInstallHint(error, payload.target, context.services.installer))
  ).recipe.name;
  const stop = manager.events.on('event', coldStartReporter(recipe, context.forward));
  try {
    return await manager.call(payload.target, input, options);
  } finally {
    stop();
  }
}

/** An unknown target that the recipe index lists: say the command that installs it. */
async function withInstallHint(error: unknown, target: string, installer: Installer): Promise<never> {
  if (!isPodkeeperError(error, 'UNKNOWN_TARGET') || !installer.installable) throw error;
  const entry = await installer.installable(target);
  if (!entry) throw error;
  throw new PodkeeperError(
    'UNKNOWN_TARGET',
    `${error.message} It is in the recipe index: podkeeper install ${entry.name} ` +
      '(or call it with --pull to install it first).',
    { details: { ...error.details, installable: entry } },
  );
}
