import type { EnvPhase } from '../../env/progress.js';
import { isPodkeeperError, PodkeeperError } from '../../errors.js';
import type { ManagerEvent } from '../../manager/events.js';
import type { Handler, HandlerContext } from '../context.js';
import type { Installer } from '../installer.js';

/** Where each env build phase sits on the call's progress bar while its pod cannot start yet. */
const ENV_PHASE_PROGRESS: Record<EnvPhase, number> = {
  waiting: 0,
  creating: 0.1,
  resolving: 0.2,
  downloading: 0.4,
  installing: 0.7,
  'system-packages': 0.8,
  checking: 0.95,
};

/**
 * `call`: one request to a recipe's pod, spawned on demand. Progress and chunks go to the caller as
 * they arrive; a caller that cancels or leaves aborts the request (the pod is asked to cancel it),
 * but never the load of a pod that is still starting. A call that has to wait for its recipe's env
 * or pod also gets what the daemon is doing meanwhile, as progress with a `stage`: the env build
 * (never going backwards) and the pod's start with its own log lines, until it is ready (a warm call
 * skips this: no listener on the hot path).
 */
export const handleCall: Handler<'call'> = async (payload, context) => {
  const { manager } = context;
  const options = {
    action: payload.action,
    timeout: payload.timeout,
    keepAlive: payload.keepAlive,
    signal: context.signal,
    onEvent: context.forward,
  };
  const input = payload.input ?? {};
  if (manager.isWarm(payload.target)) return manager.call(payload.target, input, options);
  const recipe = (
    await manager
      .recipeFor(payload.target)
      .catch((error: unknown) => withInstallHint(error, payload.target, context.services.installer))
  ).recipe.name;
  const stop = manager.events.on('event', coldStartReporter(recipe, context));
  try {
    return await manager.call(payload.target, input, options);
  } finally {
    stop();
  }
};

/** Turns the env's and the starting pod's events into the call's `stage` progress. */
function coldStartReporter(recipe: string, context: HandlerContext): (event: ManagerEvent) => void {
  let envProgress = 0;
  let starting: string | undefined; // the pod this call waits for, until it is ready
  const say = (stage: 'env' | 'starting', progress: number, message: string) =>
    context.forward({ type: 'progress', id: '', progress, message, stage });
  return (event) => {
    if (event.event === 'env.progress' && event.recipe === recipe) {
      envProgress = Math.max(envProgress, ENV_PHASE_PROGRESS[event.phase]);
      say('env', envProgress, `env ${event.phase}: ${event.message}`);
    } else if (event.event === 'pod.spawned' && event.recipe === recipe && starting === undefined) {
      starting = event.podId;
      say('starting', 0, `starting ${recipe}: loading…`);
    } else if (event.event === 'pod.log' && event.podId === starting) {
      say('starting', 0, `starting ${recipe}: ${event.message}`);
    } else if (event.event === 'pod.ready' && event.podId === starting) {
      starting = '';
      say('starting', 1, `starting ${recipe}: ready in ${event.spawnToReadyMs} ms`);
    }
  };
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
