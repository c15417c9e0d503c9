/**
 * Pod log lines kept by the daemon per recipe, so `logs` still answers after a pod was reclaimed or
 * crashed (the pod's own ring goes with it). Fed by the manager's `pod.log` events and its lifecycle events (lifecycle-lines.ts); bounded.
 */
import type { ManagerEvent } from '../manager/events.js';
import type { LogLine } from '../protocol/control-results.js';
import { logLineOf } from './lifecycle-lines.js';

export class LogStore {
  readonly #perRecipe: number;
  readonly #byRecipe = new Map<string, LogLine[]>();

  /** @param perRecipe lines kept per recipe. @default 2000 */
  constructor(perRecipe = 2000) {
    this.#perRecipe = perRecipe;
  }

  record(event: ManagerEvent): void {
    const line = logLineOf(event);
    if (!line) return;
    let lines = this.#byRecipe.get(line.recipe);
    if (!lines) {
      lines = [];
      this.#byRecipe.set(line.recipe, lines);
    }
    lines.push(line);
    // Trim in steps, so the copy happens once every perRecipe/4 lines, not on every line.
    if (lines.length > this.#perRecipe * 1.25) lines.splice(0, lines.length - this.#perRecipe);
  }

  /** The last `count` lines of one recipe, one pod, or every recipe, oldest first. */
  tail(count: number, filter: { recipe?: string; podId?: string } = {}): LogLine[] {
    if (count <= 0) return [];
    const { recipe, podId } = filter;
    const sources = recipe !== undefined ? [this.#byRecipe.get(recipe) ?? []] : [...this.#byRecipe.values()];
    let lines = sources.flatMap((list) => list.slice(-this.#perRecipe));
    if (podId !== undefined) lines = lines.filter((line) => line.podId === podId);
    if (sources.length > 1) lines.sort((a, b) => a.time - b.time);
    return lines.slice(-count);
  }

  /** True when a pod of this id has logged since the daemon started. */
  knowsPod(podId: string): boolean {
    for (const lines of this.#byRecipe.values()) if (lines.some((line) => line.podId === podId)) return true;
    return false;
  }
}
