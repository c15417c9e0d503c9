/**
 * The shapes the zygotes (zygotes.ts) and their callers share: one zygote's state, how a pod
 * starts, and what the zygotes need from the manager.
 */
import type { Logger } from 'pino';
import type { PreparedEnv } from '../env/envs.js';
import type { ForkedSpare } from '../launch/forked-spare.js';
import type { PodProcess } from '../pod/spawn.js';
import type { LoadedRecipe } from '../recipes/catalog.js';

export interface Zygote {
  key: string;
  recipe: string;
  dir: string;
  socket: string;
  process: PodProcess;
  /** The spare pod the daemon holds (or connects to): the next pod. */
  spare: ForkedSpare | undefined;
  /** Why the zygote has no spare (`CODE: reason`), when it said so. */
  refusal: string | undefined;
  ready: boolean;
  /** Settles with the zygote's pid once it has a spare pod or said why not, or undefined if it exits first. */
  started: Promise<number | undefined>;
  /** Forked pods in a row that died of a signal before their first log line. */
  strikes: number;
  /** A pod started normally after MAX_STRIKES is starting: it decides whether the zygote retires. */
  probing: boolean;
  idleTimer?: NodeJS.Timeout;
  /** Told when its spare gets ready or goes, or it exits: {@link Zygotes.spareSoon}'s waiters. */
  wake: Set<() => void>;
}

/** One zygote per recipe, folder and interpreter. */
export function keyOf(loaded: LoadedRecipe, env: PreparedEnv): string {
  return `${loaded.recipe.name}\0${loaded.dir}\0${env.executable}`;
}

/** How a launched pod did: ready, or gone before (`diedEarly`: of a signal, before any log line). */
export type LaunchOutcome = { ready: boolean; diedEarly: boolean };

/** How a pod starts: see {@link Zygotes.launch}. */
export type Launch = {
  /** Told once, when the pod is ready or exits before. */
  onOutcome?: (outcome: LaunchOutcome) => void;
} & (
  | { /** The forked pod, started. */ process: PodProcess }
  | { /** A normal start; `note`: why not forked, for the pod's log. */ args: string[]; note?: string }
);

/** What a pod of a recipe is started with: its environment and working directory. */
export interface PodSpec {
  env: Record<string, string | undefined>;
  cwd: string;
}

export interface ZygoteDeps {
  logger: Logger;
  /** Seconds without a fork before a zygote is stopped; <= 0: never (with 0, it keeps pod restarts fast). */
  idleTimeout: number;
  /** The environment of a process of this recipe (the same as its pods'). */
  environment(id: string, loaded: LoadedRecipe, env: PreparedEnv): Record<string, string | undefined>;
}
