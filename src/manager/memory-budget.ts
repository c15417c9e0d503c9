/**
 * Keeps the summed, measured RSS of all pods under `maxMemoryMB` (DESIGN §3). Before a spawn it makes
 * room by stopping idle pods, least recently used first; a busy pod is never stopped for room. When
 * nothing can be stopped the spawn waits for pods to go idle, then fails with `NO_MEMORY`.
 */
import { PodkeeperError } from '../errors.js';
import type { Pod } from '../pod/pod.js';
import { wait } from '../pod/terminate.js';

const MB = 1024 * 1024;

export interface MemorySource {
  rssOfTrees(pids: number[]): Promise<Map<number, number>>;
}

export interface BudgetDeps {
  /** Every pod that holds or may soon hold memory. */
  livePods(): Pod[];
  /** What a pod of this recipe is expected to use before it can be measured. */
  estimateMB(recipe: string): number;
  /** Stops a pod to make room (the caller reports it). */
  evict(pod: Pod): Promise<void>;
}

export class MemoryBudget {
  readonly maxMB: number;
  readonly #source: MemorySource;
  readonly #waitMs: number;
  readonly #deps: BudgetDeps;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(maxMB: number, waitMs: number, source: MemorySource, deps: BudgetDeps) {
    this.maxMB = maxMB;
    this.#waitMs = waitMs;
    this.#source = source;
    this.#deps = deps;
  }

  /** Measured RSS per pod id (MB); a pod still starting counts at least its recipe's estimate. */
  async usage(): Promise<Map<string, number>> {
    const pods = this.#deps.livePods();
    const pids = pods.map((pod) => pod.pid).filter((pid): pid is number => pid !== undefined);
    const rss = await this.#source.rssOfTrees(pids);
    const usage = new Map<string, number>();
    for (const pod of pods) {
      const measured = pod.pid === undefined ? 0 : (rss.get(pod.pid) ?? 0) / MB;
      usage.set(
        pod.id,
        pod.state === 'starting' ? Math.max(measured, this.#deps.estimateMB(pod.recipe)) : measured,
      );
    }
    return usage;
  }

  /**
   * Runs `spawn` once `neededMB` fits under the budget. Spawns are serialized, so two of them can
   * never both count the same free room.
   */
  reserve<T>(recipe: string, spawn: () => T): Promise<T> {
    const run = this.#turn.then(async () => {
      await this.#makeRoom(recipe, this.#deps.estimateMB(recipe));
      return spawn();
    });
    this.#turn = run.catch(() => undefined);
    return run;
  }

  async #makeRoom(recipe: string, neededMB: number): Promise<void> {
    const deadline = performance.now() + this.#waitMs;
    // Nothing running: nothing to measure (a /proc scan costs milliseconds of a cold start).
    if (this.#deps.livePods().length === 0 && neededMB <= this.maxMB) return;
    for (;;) {
      const usage = await this.usage();
      const usedMB = [...usage.values()].reduce((sum, mb) => sum + mb, 0);
      if (usedMB + neededMB <= this.maxMB) return;
      const pods = this.#deps.livePods();
      const victim = pods.filter((pod) => pod.idle).sort((a, b) => a.lastUsedMono - b.lastUsedMono)[0];
      if (victim) {
        await this.#deps.evict(victim);
        continue;
      }
      const hopeless = pods.length === 0 || neededMB > this.maxMB;
      if (hopeless || performance.now() >= deadline) {
        throw new PodkeeperError(
          'NO_MEMORY',
          `Not enough memory to start a pod of "${recipe}": pods use ${Math.round(usedMB)} MB, ` +
            `it needs about ${Math.round(neededMB)} MB, and the budget is ${this.maxMB} MB ` +
            `(${hopeless ? 'nothing left to stop' : `every pod stayed busy for ${this.#waitMs / 1000} s`}). ` +
            'Raise maxMemoryMB (--max-memory) or stop pods you do not need.',
          { details: { recipe, usedMB: Math.round(usedMB), neededMB, maxMemoryMB: this.maxMB } },
        );
      }
      await wait(Math.min(250, Math.max(10, deadline - performance.now())));
    }
  }
}
