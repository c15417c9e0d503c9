/**
 * One handler per control action (docs/architecture.md#protocols); the dispatcher validates
 * payloads before calling them.
 */
import type { HandlerTable } from '../context.js';
import { handleCall } from './handle-call.js';
import { handleCancel } from './handle-cancel.js';
import { handleEventsSubscribe } from './handle-events-subscribe.js';
import { handleGc } from './handle-gc.js';
import { handleLogsFollow } from './handle-logs-follow.js';
import { handleLogsTail } from './handle-logs-tail.js';
import { handlePodsList } from './handle-pods-list.js';
import { handlePodsStart } from './handle-pods-start.js';
import { handlePodsStop } from './handle-pods-stop.js';
import { handleRecipesInstall } from './handle-recipes-install.js';
import { handleRecipesList } from './handle-recipes-list.js';
import { handleRecipesRemove } from './handle-recipes-remove.js';
import { handleShutdown } from './handle-shutdown.js';
import { handleStatus } from './handle-status.js';

export const handlers: HandlerTable = {
  status: handleStatus,
  'pods.list': handlePodsList,
  'pods.start': handlePodsStart,
  'pods.stop': handlePodsStop,
  call: handleCall,
  'recipes.list': handleRecipesList,
  'recipes.install': handleRecipesInstall,
  'recipes.remove': handleRecipesRemove,
  'logs.tail': handleLogsTail,
  'logs.follow': handleLogsFollow,
  'events.subscribe': handleEventsSubscribe,
  shutdown: handleShutdown,
  cancel: handleCancel,
  gc: handleGc,
};
