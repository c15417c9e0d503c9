/**
 * What the status page shows over time, kept by the listener from the manager's events and samples:
 * memory used against the budget, recent events, and per recipe its spawns, restarts and crashes.
 * Bounded rings; nothing here changes the manager.
 */
import type { ManagerEvent } from '../manager/events.js';

export interface MemorySample {
  time: number;
  usedMB: number;
  maxMB: number;
}

export interface RecipeTally {
  spawns: number;
  /** Spawns that followed a crash of the same recipe. */
  restarts: number;
  crashes: number;
  evictions: number;
  reclaims: number;
}

export interface RecentEvent {
  time: number;
  event: string;
  recipe: string | null;
  podId: string | null;
  /** The event's other fields, as reported. */
  detail: Record<string, unknown>;
}

/** Tells which spawns are restarts: a spawn of a recipe whose last pod crashed (and is not fatal). */
export class RestartWatch {
  readonly #crashed = new Set<string>();

  isRestart(event: ManagerEvent): event is Extract<ManagerEvent, { event: 'pod.spawned' }> {
    if (event.event === 'pod.crashed') this.#crashed.add(event.recipe);
    if (event.event === 'pod.fatal') this.#crashed.delete(event.recipe);
    return event.event === 'pod.spawned' && this.#crashed.delete(event.recipe);
  }
}

/** A fixed-size ring (oldest dropped). */
class Ring<T> {
  readonly #items: T[] = [];
  constructor(readonly size: number) {}
  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.size) this.#items.splice(0, this.#items.length - this.size);
  }
  last(): T | undefined {
    return this.#items.at(-1);
  }
  list(): T[] {
    return [...this.#items];
  }
}

/** Too frequent for a list of recent events: each call flips a pod busy and back. */
const QUIET = new Set(['pod.log', 'pod.state', 'env.progress', 'env.command']);

export class History {
  readonly memory: Ring<MemorySample>;
  readonly #events: Ring<RecentEvent>;
  readonly #tallies = new Map<string, RecipeTally>();
  readonly #restartWatch = new RestartWatch();

  constructor(options: { memorySamples?: number; events?: number } = {}) {
    this.memory = new Ring(options.memorySamples ?? 600);
    this.#events = new Ring(options.events ?? 200);
  }

  /** Feeds one manager event (log lines are the log store's business, not this one's). */
  record(event: ManagerEvent, now = Date.now()): void {
    if (QUIET.has(event.event)) return;
    const { event: name, recipe: recipeField, podId: podField, ...rest } = event as Record<string, unknown>;
    const recipe = typeof recipeField === 'string' ? recipeField : null;
    const podId = typeof podField === 'string' ? podField : null;
    this.#events.push({ time: now, event: String(name), recipe, podId, detail: rest });
    if (recipe === null) return;
    const restart = this.#restartWatch.isRestart(event);
    const tally = this.tally(recipe);
    switch (event.event) {
      case 'pod.spawned':
        tally.spawns += 1;
        if (restart) tally.restarts += 1;
        break;
      case 'pod.crashed':
        tally.crashes += 1;
        break;
      case 'pod.evicted':
        tally.evictions += 1;
        break;
      case 'pod.reclaimed':
        tally.reclaims += 1;
        break;
      default:
    }
  }

  /** Keeps a memory sample, at most one per `minGapMs` (the timer and page reads both offer them). */
  sample(memory: { usedMB: number | null; maxMB: number }, now = Date.now(), minGapMs = 500): void {
    if (memory.usedMB === null) return; // not measurable now (out of fds): leave a gap, not a 0
    const last = this.memory.last();
    if (last && now - last.time < minGapMs) return;
    this.memory.push({ time: now, usedMB: memory.usedMB, maxMB: memory.maxMB });
  }

  tally(recipe: string): RecipeTally {
    let tally = this.#tallies.get(recipe);
    if (!tally) {
      tally = { spawns: 0, restarts: 0, crashes: 0, evictions: 0, reclaims: 0 };
      this.#tallies.set(recipe, tally);
    }
    return tally;
  }

  tallies(): Record<string, RecipeTally> {
    return Object.fromEntries(this.#tallies);
  }

  /** The last `count` events, oldest first. */
  events(count = 50): RecentEvent[] {
    return this.#events.list().slice(-count);
  }
}
