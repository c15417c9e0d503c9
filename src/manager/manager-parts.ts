/**
 * The manager's parts and how they reach each other, built once by PodManager's constructor: the
 * zygotes, the memory budget (and the eviction it may ask for), and the one view of them that the
 * manager's helpers (pod-starter, catalog-swap, recipe-supervisor) take as their deps.
 *
 *   PodManager ─hooks─▶ assembleParts ─▶ zygotes, budget, parts ─▶ PodStarter, swapCatalog, supervisorOf
 *
 * What exists only once the manager has started (its envs, its pod starter) is reached through the
 * hooks, at call time.
 */
import type { Logger } from 'pino';
import type { Environments } from '../env/envs.js';
import { PodkeeperError } from '../errors.js';
import type { Pod } from '../pod/pod.js';
import type { CatalogSwapDeps } from './catalog-swap.js';
import type { ManagerEvent } from './events.js';
import { createMemorySampler } from './memory.js';
import { MemoryBudget } from './memory-budget.js';
import type { ResolvedOptions } from './options.js';
import { podEnvironment } from './pod-factory.js';
import type { PodStarter, PodStarterDeps } from './pod-starter.js';
import type { SupervisorWiring } from './recipe-supervisor.js';
import type { StopReasons } from './stop-reasons.js';
import type { Supervisor } from './supervisor.js';
import type { Supervisors } from './supervisors.js';
import { Zygotes } from './zygotes.js';

/** The manager's parts as its helpers see them. */
export type ManagerParts = PodStarterDeps & CatalogSwapDeps & Omit<SupervisorWiring, 'isCurrent'>;

/** What the parts ask the manager for. */
export interface ManagerHooks {
  log: Logger;
  supervisors: Supervisors;
  stopReasons: StopReasons;
  environments(): Environments;
  /** The pod starter, once the manager has started. */
  starter(): PodStarter | undefined;
  isClosing(): boolean;
  startZygote(recipe: string): Promise<number | undefined>;
  supervisor(recipe: string): Promise<Supervisor>;
  emit(event: ManagerEvent): void;
}

export function assembleParts(
  options: ResolvedOptions,
  hooks: ManagerHooks,
): { zygotes: Zygotes | undefined; budget: MemoryBudget; parts: ManagerParts } {
  const { log, supervisors, stopReasons, emit } = hooks;
  const zygotes = options.zygotes
    ? new Zygotes({
        logger: log,
        idleTimeout: options.idleTimeout,
        environment: (id, loaded, env) => podEnvironment(id, loaded, env, options),
      })
    : undefined;
  /** Stops `pod` to make room for a pod of `forRecipe`: local memory, or a contended remote resource. */
  const evict = async (pod: Pod, forRecipe: string): Promise<void> => {
    emit({ event: 'pod.evicted', podId: pod.id, recipe: pod.recipe });
    stopReasons.note(pod, { why: 'evicted', for: forRecipe }, { replace: true });
    await pod.stop();
  };
  const budget = new MemoryBudget(options.maxMemoryMB, options.memoryWait * 1000, createMemorySampler(), {
    livePods: () => supervisors.livePods(),
    estimateMB: (recipe) =>
      hooks.starter()?.launchers.localEstimateMB(recipe, supervisors.estimateMB(recipe)) ??
      supervisors.estimateMB(recipe),
    zygotes: () => zygotes?.running() ?? [],
    evict,
  });
  const starter = () => started(hooks.starter());
  const parts: ManagerParts = {
    options,
    restart: options.restart,
    idleTimeout: options.idleTimeout,
    maxQueue: options.maxQueue,
    log,
    zygotes,
    supervisors,
    stopReasons,
    environments: () => hooks.environments(),
    livePods: () => supervisors.livePods(),
    prepare: (recipe) => starter().prepare(recipe),
    spawn: (prepared) => starter().spawn(prepared),
    spareSoon: async (prepared) => zygotes?.spareSoon(prepared),
    reserve: (recipe, spawn) => budget.reserve(recipe, spawn),
    reserveIfFits: (recipe, spawn) => budget.reserveIfFits(recipe, spawn),
    evict,
    emit,
    isClosing: () => hooks.isClosing(),
    startZygote: (recipe) => hooks.startZygote(recipe),
    supervisor: (recipe) => hooks.supervisor(recipe),
  };
  return { zygotes, budget, parts };
}

/** A part the manager's start makes, once it has settled: `INVALID_STATE` when the start failed. */
export function started<T>(part: T | undefined): T {
  if (part === undefined)
    throw new PodkeeperError('INVALID_STATE', 'The pod manager failed to start; see its first error.');
  return part;
}
