/**
 * Keeps the summed, measured RSS of all pods under `maxMemoryMB`
 * (docs/architecture.md#pod-lifecycle). Before a spawn it makes room by stopping idle pods, least
 * recently used first, then the zygotes (zygotes.ts) of other recipes; a busy pod is never stopped
 * for room, nor the zygote of the recipe being spawned (the spawn would lose the fork it exists
 * for), and nothing is stopped when even stopping all the others would not make room. A spawn that does
 * not fit yet waits (for busy pods to go idle) without holding up spawns that do fit, then fails
 * with `NO_MEMORY`.
 *
 *   reserve ─▶ [one attempt at a time: measure → fits? spawn : can evicting idle pods make it fit?
 *               evict LRU (skipping any that turned busy), spawn : give up the turn] ─▶ wait a little,
 *               try again until memoryWait
 */
import { isPodkeeperError, PodkeeperError } from '../errors.js';
import type { Pod } from '../pod/pod.js';
import { wait } from '../process/group.js';

const MB = 1024 * 1024;
/** How often a waiting spawn looks again. */
const RETRY_MS = 100;

export interface MemorySource {
  rssOfTrees(pids: number[]): Promise<Map<number, number>>;
  privateOfTrees(pids: number[]): Promise<Map<number, number>>;
  privateOfProcesses(pids: number[]): Promise<Map<number, number>>;
  residentOfProcesses(pids: number[]): Promise<Map<number, number>>;
}

/** A process that holds memory without being a pod: a zygote (zygotes.ts), stopped last for room. */
interface Reclaimable {
  id: string;
  pid: number;
  /** A zygote's pages are shared by its spare pod and the pods it forked: count them resident, not private. */
  sharesPages: boolean;
  /** The recipe it serves: never stopped to make room for a pod of that recipe. */
  recipe: string;
  stop(): Promise<void>;
}

export interface BudgetDeps {
  /** Every pod that holds or may soon hold memory. */
  livePods(): Pod[];
  /** What a pod of this recipe is expected to use before it can be measured. */
  estimateMB(recipe: string): number;
  /** Stops a pod to make room for a pod of `forRecipe` (the caller reports it). */
  evict(pod: Pod, forRecipe: string): Promise<void>;
  /** The zygotes running now. */
  zygotes?(): Reclaimable[];
}

/** The budget as `status` reports it; `usedMB` is null (and `warning` says why) when pods could not be measured. */
export interface MemoryReport {
  usedMB: number | null;
  maxMB: number;
  warning?: string;
}

/** Why an attempt did not fit: what pods use, and whether waiting could ever help. */
interface Shortfall {
  usedMB: number;
  hopeless: boolean;
}

export class MemoryBudget {
  readonly maxMB: number;
  readonly #source: MemorySource;
  readonly #waitMs: number;
  readonly #deps: BudgetDeps;
  /** Attempts take turns, so two spawns can never both count the same free room. */
  #turn: Promise<unknown> = Promise.resolve();
  /**
   * The last measured memory of each zygote and spare pod (by id, with the pid measured), MB. A new
   * spare pod of the same zygote (one per forked start) counts as the last one did until measured:
   * spares are alike, and measuring each on the cold start that takes the one before cost ~2 ms.
   */
  readonly #zygoteMB = new Map<string, { pid: number; mb: number }>();

  constructor(maxMB: number, waitMs: number, source: MemorySource, deps: BudgetDeps) {
    this.maxMB = maxMB;
    this.#waitMs = waitMs;
    this.#source = source;
    this.#deps = deps;
  }

  /**
   * Measured memory per pod id (MB); a pod still starting counts at least its recipe's estimate. A
   * pod forked from a zygote counts the private memory of its guardian's tree (the pages it shares
   * with the zygote are the zygote's), each zygote counts by its resident pages (the pods it forked
   * and its spare pod share them, so its private figure would shrink as they come), and a zygote's
   * spare pod by its guardian's private pages.
   */
  async usage(): Promise<Map<string, number>> {
    const pods = this.#deps.livePods();
    const zygotes = this.#deps.zygotes?.() ?? [];
    const pids = pods.flatMap((pod) => (pod.pid === undefined || pod.forked ? [] : [pod.pid]));
    const guardians = pods.flatMap((pod) => (pod.pid !== undefined && pod.forked ? [pod.pid] : []));
    const sharing = zygotes.filter((zygote) => zygote.sharesPages).map((zygote) => zygote.pid);
    const alone = zygotes.filter((zygote) => !zygote.sharesPages).map((zygote) => zygote.pid);
    const none = new Map<number, number>();
    const [rss, forked, resident, own] = await Promise.all([
      this.#source.rssOfTrees(pids),
      guardians.length > 0 ? this.#source.privateOfTrees(guardians) : none,
      sharing.length > 0 ? this.#source.residentOfProcesses(sharing) : none,
      alone.length > 0 ? this.#source.privateOfProcesses(alone) : none,
    ]);
    const usage = new Map<string, number>();
    this.#zygoteMB.clear();
    for (const zygote of zygotes) {
      const mb = ((zygote.sharesPages ? resident : own).get(zygote.pid) ?? 0) / MB;
      usage.set(zygote.id, mb);
      this.#zygoteMB.set(zygote.id, { pid: zygote.pid, mb });
    }
    for (const pod of pods) {
      const bytes = pod.pid === undefined ? 0 : ((pod.forked ? forked : rss).get(pod.pid) ?? 0);
      const measured = bytes / MB;
      usage.set(
        pod.id,
        pod.state === 'starting' ? Math.max(measured, this.#deps.estimateMB(pod.recipe)) : measured,
      );
    }
    return usage;
  }

  /**
   * {@link usage} for reports (`status`, `pods.list`): when the pods cannot be measured (the daemon is
   * out of file descriptors) there is no usage, and `warning` says why, instead of a failure.
   */
  async sample(): Promise<{ usage?: Map<string, number>; warning?: string }> {
    try {
      return { usage: await this.usage() };
    } catch (error) {
      if (!isPodkeeperError(error, 'RESOURCE_EXHAUSTED')) throw error;
      return { warning: error.message };
    }
  }

  /** Runs `spawn` once the recipe's estimate fits under the budget, or fails with `NO_MEMORY`. */
  async reserve<T>(recipe: string, spawn: () => T): Promise<T> {
    const deadline = performance.now() + this.#waitMs;
    for (;;) {
      const neededMB = this.#deps.estimateMB(recipe);
      const outcome = await this.#exclusive(async () => {
        const shortfall = await this.#attempt(neededMB, recipe);
        return shortfall ?? { spawned: spawn() };
      });
      if ('spawned' in outcome) return outcome.spawned;
      if (outcome.hopeless || performance.now() >= deadline) {
        throw this.#noMemory(recipe, neededMB, outcome.usedMB, outcome.hopeless);
      }
      await wait(Math.min(RETRY_MS, Math.max(10, deadline - performance.now())));
    }
  }

  /**
   * Runs `spawn` when a pod of `recipe` fits under the budget as it is now; undefined when it does
   * not. Nothing is stopped to make room and nothing waits: what a replica asks (replicas only speed
   * up calls that would otherwise queue on the pods already running).
   */
  async reserveIfFits<T>(recipe: string, spawn: () => T): Promise<T | undefined> {
    const neededMB = this.#deps.estimateMB(recipe);
    return this.#exclusive(async () => {
      const usage = await this.usage();
      const usedMB = sum([...usage.values()]);
      return usedMB + neededMB <= this.maxMB ? spawn() : undefined;
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn);
    this.#turn = run.catch(() => undefined);
    return run;
  }

  /** One look: fits as is, fits once idle pods and other zygotes are stopped (they are), or the shortfall. */
  async #attempt(neededMB: number, recipe: string): Promise<Shortfall | undefined> {
    const pods = this.#deps.livePods();
    const zygotes = this.#deps.zygotes?.() ?? [];
    // No pod running: nothing to measure (a /proc scan costs milliseconds of a cold start) but the
    // zygotes, which run no code after their preload: their first measurement stands.
    const zygotesMB = zygotes.map((zygote) => {
      const known = this.#zygoteMB.get(zygote.id);
      return known?.pid === zygote.pid || !zygote.sharesPages ? known?.mb : undefined;
    });
    if (pods.length === 0 && zygotesMB.every((mb) => mb !== undefined)) {
      const usedMB = sum(zygotesMB as number[]);
      if (usedMB + neededMB <= this.maxMB) return undefined;
      if (zygotes.length === 0) return { usedMB: 0, hopeless: true };
    }
    const usage = await this.usage();
    let usedMB = sum([...pods, ...zygotes].map((held) => usage.get(held.id) ?? 0));
    if (usedMB + neededMB <= this.maxMB) return undefined;
    if (neededMB > this.maxMB) return { usedMB, hopeless: true };
    const idle = pods.filter((pod) => pod.idle).sort((a, b) => a.lastUsedMono - b.lastUsedMono);
    const others = zygotes.filter((zygote) => zygote.recipe !== recipe);
    const keptMB = usedMB - sum([...idle, ...others].map((held) => usage.get(held.id) ?? 0));
    // Stopping all of them would not make room: stop none, wait for busy ones to finish.
    if (keptMB + neededMB > this.maxMB) return { usedMB, hopeless: false };
    for (const victim of idle) {
      if (usedMB + neededMB <= this.maxMB) return undefined;
      // Each stop may take up to stopGrace: a call can land on a later victim meanwhile. Skip it.
      if (!victim.idle) continue;
      await this.#deps.evict(victim, recipe);
      usedMB -= usage.get(victim.id) ?? 0;
    }
    // A zygote only saves imports, but its pods' starts depend on it: stopped after the idle pods.
    for (const zygote of others) {
      if (usedMB + neededMB <= this.maxMB) return undefined;
      await zygote.stop();
      usedMB -= usage.get(zygote.id) ?? 0;
    }
    return usedMB + neededMB <= this.maxMB ? undefined : { usedMB, hopeless: false };
  }

  #noMemory(recipe: string, neededMB: number, usedMB: number, hopeless: boolean): PodkeeperError {
    return new PodkeeperError(
      'NO_MEMORY',
      `Not enough memory to start a pod of "${recipe}": pods use ${Math.round(usedMB)} MB, ` +
        `it needs about ${Math.round(neededMB)} MB, and the budget is ${this.maxMB} MB ` +
        `(${hopeless ? 'nothing left to stop' : `the pods in use stayed busy for ${this.#waitMs / 1000} s`}). ` +
        'Raise maxMemoryMB (--max-memory) or stop pods you do not need.',
      {
        details: {
          recipe,
          usedMB: Math.round(usedMB),
          neededMB: Math.round(neededMB),
          maxMemoryMB: this.maxMB,
        },
      },
    );
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
