/**
 * The replicas of one recipe on their way (beyond its first pod): how many are starting, and the
 * last refusal by the memory budget or failed spawn, which holds the next scale-up back for a second
 * (calls wait for the running replicas meanwhile).
 */
import type { Pod } from '../pod/pod.js';

/** After the budget refused a replica (or its spawn failed), calls wait this long before another try. */
const REFUSED_RETRY_MS = 1000;

export class ReplicaStarts {
  readonly #started: (pod: Pod) => void;
  readonly #notStarted: (error: unknown) => void;
  #starting = 0;
  #refusedUntil = 0;

  /** `started` adopts a started pod; `notStarted` hears a refusal (undefined) or a failed spawn. */
  constructor(started: (pod: Pod) => void, notStarted: (error: unknown) => void) {
    this.#started = started;
    this.#notStarted = notStarted;
  }

  /** Replicas whose spawn has not returned yet. */
  get starting(): number {
    return this.#starting;
  }

  /** Another replica through `spawnIfFits`, unless the budget refused one less than a second ago. */
  scaleUp(spawnIfFits: () => Promise<Pod | undefined>): void {
    if (performance.now() < this.#refusedUntil) return;
    this.start(spawnIfFits).catch(() => undefined);
  }

  /** Starts one replica through `spawn` (undefined: the budget refused it). */
  async start(spawn: () => Promise<Pod | undefined>): Promise<void> {
    this.#starting += 1;
    let pod: Pod | undefined;
    try {
      pod = await spawn();
    } catch (error) {
      this.#starting -= 1;
      this.#refusedUntil = performance.now() + REFUSED_RETRY_MS; // a spawn that fails is not retried at once
      return this.#notStarted(error);
    }
    this.#starting -= 1; // before the callbacks: they may count what is on its way
    if (pod) return this.#started(pod);
    this.#refusedUntil = performance.now() + REFUSED_RETRY_MS;
    this.#notStarted(undefined);
  }
}
