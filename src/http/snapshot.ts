/**
 * The JSON the status page draws and the HTTP API serves, read only through the manager's public
 * functions and the daemon's services (the same ones `status`, `pods.list`, `logs` and
 * `recipes.list` use).
 */
import type { DaemonServices } from '../control/context.js';
import { loadIndex } from '../install/recipe-index.js';
import type { PodInfo } from '../manager/events.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { History } from './history.js';

export const POD_STATES = ['starting', 'ready', 'busy', 'stopping', 'stopped', 'crashed'] as const;

/** A pod as the page shows it: `pods.list` plus idle time, time until reclaim and its recipe's restarts. */
export interface PodView extends PodInfo {
  idleSeconds: number;
  /** Seconds until an idle reclaim, when it is idle and its recipe has a timeout; else null. */
  reclaimInSeconds: number | null;
  restarts: number;
}

/** The seconds of idle time a recipe's pods get (the recipe's own, else the daemon's). */
function idleTimeoutOf(recipes: LoadedRecipe[], name: string, fallback: number): number {
  return recipes.find(({ recipe }) => recipe.name === name)?.recipe.idleTimeout ?? fallback;
}

export async function podsView(
  services: DaemonServices,
  history: History,
  now = Date.now(),
): Promise<PodView[]> {
  const { manager } = services;
  const [pods, recipes] = await Promise.all([manager.list(), manager.recipes()]);
  return pods.map((pod) => {
    const idleSeconds = pod.inFlight + pod.queued > 0 ? 0 : (now - Date.parse(pod.lastUsedAt)) / 1000;
    const timeout = idleTimeoutOf(recipes, pod.recipe, manager.options.idleTimeout);
    const idle = pod.inFlight + pod.queued === 0 && (pod.state === 'ready' || pod.state === 'stopping');
    const reclaimInSeconds =
      pod.state === 'stopping' ? 0 : idle && timeout >= 0 ? Math.max(0, timeout - idleSeconds) : null;
    return {
      ...pod,
      idleSeconds: round(idleSeconds),
      reclaimInSeconds: reclaimInSeconds === null ? null : round(reclaimInSeconds),
      restarts: history.tally(pod.recipe).restarts,
    };
  });
}

/** Everything the page shows but logs and the recipe lists, in one answer. */
export async function overview(services: DaemonServices, history: History) {
  const { manager } = services;
  const [memory, pods] = await Promise.all([manager.memory(), podsView(services, history)]);
  history.sample(memory);
  return {
    daemon: services.describe(),
    memory,
    memoryHistory: history.memory.list(),
    pods,
    recipes: history.tallies(),
    fatal: manager.fatalRecipes(),
    events: history.events(50),
    time: Date.now(),
  };
}

/** Installed recipes (what `recipes.list` says) and installable ones (the recipe index, when it is local). */
export async function recipesView(services: DaemonServices, indexLocation: string) {
  const loaded = await services.manager.recipes();
  const installed = loaded.map(({ recipe, dir, builtin }) => ({
    name: recipe.name,
    version: recipe.version,
    capability: recipe.capability,
    description: recipe.description ?? null,
    source: dir,
    builtin,
  }));
  const names = new Set(installed.map(({ name }) => name));
  let installable:
    | { name: string; version: string; capability: string; description: string | null; installed: boolean }[]
    | null = null;
  let indexError: string | null = null;
  if (/^https?:\/\//.test(indexLocation)) {
    indexError = 'The recipe index is remote; `podkeeper install NAME` reads it.';
  } else {
    try {
      const index = await loadIndex(indexLocation, { workDir: '/nonexistent' });
      installable = index.recipes.map(({ name, version, capability, description }) => ({
        name,
        version,
        capability,
        description: description ?? null,
        installed: names.has(name),
      }));
    } catch (error) {
      indexError = (error as Error).message;
    }
  }
  return { installed, installable, index: indexLocation, indexError };
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
