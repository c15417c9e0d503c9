/**
 * The manager's supervisors, one per recipe name, and the questions asked of all of them at once:
 * which pods are live, which a selector picks, what a recipe's next pod is expected to weigh.
 */
import type { Pod } from '../pod/pod.js';
import type { Supervisor } from './supervisor.js';

/** Which pods a stop (or a listing) is about. */
export type PodSelector = { target: string } | { podId: string } | { all: true };

export class Supervisors {
  readonly #byName = new Map<string, Supervisor>();
  /** Supervisors of a replaced or removed recipe whose pod is finishing its calls. */
  readonly #draining = new Set<Supervisor>();

  /** The supervisor running `pod` (draining ones included). */
  of(pod: Pod): Supervisor | undefined {
    return [...this.all(), ...this.#draining].find((s) => s.replicaOf(pod) !== undefined);
  }

  get(name: string): Supervisor | undefined {
    return this.#byName.get(name);
  }

  add(supervisor: Supervisor): void {
    this.#byName.set(supervisor.name, supervisor);
  }

  all(): Supervisor[] {
    return [...this.#byName.values()];
  }

  /** Every pod that has not stopped yet (starting, ready, busy or stopping), draining ones included. */
  livePods(): Pod[] {
    return [...this.all(), ...this.#draining].flatMap((s) => s.pods.filter((pod) => pod.state !== 'stopped'));
  }

  /** The supervisors `selector` picks; `recipeOf` turns a target (name or capability) into a recipe name. */
  select(selector: PodSelector, recipeOf: (target: string) => string): Supervisor[] {
    if ('all' in selector) return this.all();
    if ('podId' in selector) return this.all().filter((s) => s.pods.some((pod) => pod.id === selector.podId));
    const supervisor = this.#byName.get(recipeOf(selector.target));
    return supervisor ? [supervisor] : [];
  }

  /**
   * The memory a recipe's next pod is expected to need at spawn, MB: the recipe's declared
   * `memoryMB` or the recent RSS of its pods at ready, whichever is larger. Never the largest RSS
   * ever seen during calls: one large request must not lock the recipe out for good.
   */
  estimateMB(recipe: string): number {
    const supervisor = this.#byName.get(recipe);
    return Math.max(supervisor?.loaded.recipe.memoryMB ?? 0, supervisor?.readyMB ?? 0);
  }

  /**
   * Removes the supervisors `isStale` picks (their recipe was removed or replaced) at once, so new
   * calls go to the new version; their pods finish their calls (at most `drainMs`), then stop.
   */
  async dropWhere(isStale: (supervisor: Supervisor) => boolean, drainMs: number): Promise<void> {
    const stale = this.all().filter(isStale);
    for (const supervisor of stale) {
      this.#byName.delete(supervisor.name);
      this.#draining.add(supervisor);
    }
    await Promise.all(
      stale.map((supervisor) => supervisor.drain(drainMs).finally(() => this.#draining.delete(supervisor))),
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.all(), ...this.#draining].map((supervisor) => supervisor.stop()));
  }
}
