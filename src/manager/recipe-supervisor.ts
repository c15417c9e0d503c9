/**
 * A recipe's Supervisor wired into the manager: its pods spawn once their env is ready and the memory
 * budget gives them a turn, and its exits and reclaims become manager events, with their reasons.
 */
import type { Logger } from 'pino';
import { PodkeeperError } from '../errors.js';
import type { Prepared } from '../launch/types.js';
import type { Pod } from '../pod/pod.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import { type ManagerEvent, podExitEvents } from './events.js';
import type { ResolvedOptions } from './options.js';
import { RestartPolicy } from './restart-policy.js';
import type { StopReasons } from './stop-reasons.js';
import { Supervisor } from './supervisor.js';
import type { Supervisors } from './supervisors.js';

export interface SupervisorWiring {
  restart: ResolvedOptions['restart'];
  idleTimeout: number;
  /** How many calls of a replicated recipe may wait for a free replica. */
  maxQueue: number;
  /** What the recipe's launcher needs first: the local env built or reused, or a remote check. */
  prepare(recipe: LoadedRecipe): Promise<Prepared>;
  /** Runs `spawn` once the memory budget has room for a pod of `recipe`. */
  reserve(recipe: string, spawn: () => Pod): Promise<Pod>;
  /** Runs `spawn` only when a pod of `recipe` fits under the memory budget now. */
  reserveIfFits(recipe: string, spawn: () => Pod): Promise<Pod | undefined>;
  /** False once an install replaced or removed the supervised recipe. */
  isCurrent(recipe: string): boolean;
  spawn(prepared: Prepared): Pod;
  /** Waits (briefly) for the recipe's zygote's next spare pod when one is on its way. */
  spareSoon(prepared: Prepared): Promise<void>;
  stopReasons: StopReasons;
  log: Logger;
  emit(event: ManagerEvent): void;
  isClosing(): boolean;
}

/** The supervisor of `loaded`'s recipe, made and registered when there is none yet. */
export function supervisorOf(
  loaded: LoadedRecipe,
  supervisors: Supervisors,
  wiring: Omit<SupervisorWiring, 'isCurrent'>,
): Supervisor {
  const existing = supervisors.get(loaded.recipe.name);
  if (existing) return existing;
  const created: Supervisor = superviseRecipe(loaded, {
    ...wiring,
    isCurrent: (recipe) => supervisors.get(recipe) === created,
  });
  supervisors.add(created);
  return created;
}

function superviseRecipe(loaded: LoadedRecipe, wiring: SupervisorWiring): Supervisor {
  const { stopReasons, emit } = wiring;
  const prepareToSpawn = async (recipe: LoadedRecipe) => {
    const prepared = await wiring.prepare(recipe);
    await wiring.spareSoon(prepared);
    return prepared;
  };
  const spawnIn = (recipe: LoadedRecipe, prepared: Prepared) => () => {
    // An install replaced or removed this recipe while its pod was on the way.
    if (!wiring.isCurrent(recipe.recipe.name)) {
      throw new PodkeeperError(
        'UNKNOWN_TARGET',
        `Recipe "${recipe.recipe.name}" was replaced or removed while its pod was starting; call it again.`,
        { details: { target: recipe.recipe.name } },
      );
    }
    return wiring.spawn(prepared);
  };
  return new Supervisor(loaded, RestartPolicy.fromSeconds(wiring.restart), {
    spawn: async (recipe) =>
      wiring.reserve(recipe.recipe.name, spawnIn(recipe, await prepareToSpawn(recipe))),
    spawnIfFits: async (recipe) =>
      wiring.reserveIfFits(recipe.recipe.name, spawnIn(recipe, await prepareToSpawn(recipe))),
    onNotStarted: (supervisor, why, error) => {
      const recipe = supervisor.name;
      if (error === undefined)
        wiring.log.info(
          { recipe },
          'replica not started: it does not fit under the memory budget; calls queue on the running pods',
        );
      else if (!wiring.isClosing()) wiring.log.warn({ recipe, err: error }, `${why} pod not started`);
    },
    onExit: (_, exit, fatal) => {
      const reason = stopReasons.get(exit.pod);
      if (exit.reason === 'stopped' && reason)
        wiring.log.info({ podId: exit.pod.id, recipe: exit.pod.recipe, ...reason }, 'pod stopped');
      for (const event of podExitEvents(exit, fatal, reason)) emit(event);
    },
    onReclaim: (_, pod, idleSeconds) => {
      stopReasons.note(pod, idleSeconds === 0 ? { why: 'keepAlive' } : { why: 'idle', idleSeconds });
      emit({ event: 'pod.reclaimed', podId: pod.id, recipe: pod.recipe, idleSeconds });
    },
    idleTimeout: wiring.idleTimeout,
    maxQueue: wiring.maxQueue,
    isClosing: wiring.isClosing,
  });
}
