/**
 * When a crashed pod may start again (DESIGN §3): after a backoff of base × factorⁿ (capped), and not
 * at all after `maxUnstable` crashes in a row each within `unstableWindowMs` of its start — that
 * recipe is fatal until an explicit start clears it. A crash after a stable run starts the count anew.
 */
import type { ExitReason } from '../pod/pod.js';

export interface RestartPolicyOptions {
  /** @default 500 */
  backoffBaseMs: number;
  /** @default 1.5 */
  backoffFactor: number;
  /** @default 15_000 */
  backoffCapMs: number;
  /** A crash this soon after the start counts as unstable. @default 10_000 */
  unstableWindowMs: number;
  /** Unstable crashes in a row that make the recipe fatal. @default 5 */
  maxUnstable: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  backoffBaseMs: 500,
  backoffFactor: 1.5,
  backoffCapMs: 15_000,
  unstableWindowMs: 10_000,
  maxUnstable: 5,
};

export type ExitVerdict = 'restartable' | 'fatal';

export class RestartPolicy {
  readonly #options: RestartPolicyOptions;
  #unstable = 0;
  #notBefore = 0;

  constructor(options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {
    this.#options = options;
  }

  /** From the manager's `restart` option, whose durations are in seconds. */
  static fromSeconds(restart: {
    backoffBase: number;
    backoffFactor: number;
    backoffCap: number;
    unstableWindow: number;
    maxUnstable: number;
  }): RestartPolicy {
    return new RestartPolicy({
      backoffBaseMs: restart.backoffBase * 1000,
      backoffFactor: restart.backoffFactor,
      backoffCapMs: restart.backoffCap * 1000,
      unstableWindowMs: restart.unstableWindow * 1000,
      maxUnstable: restart.maxUnstable,
    });
  }

  /** Unstable crashes in a row so far. */
  get unstableCrashes(): number {
    return this.#unstable;
  }

  /** Records how a pod ended, at `now` (monotonic ms). */
  record(reason: ExitReason, uptimeMs: number, now: number): ExitVerdict {
    if (reason === 'stopped' || reason === 'killed') {
      if (reason === 'stopped') this.#unstable = 0;
      this.#notBefore = 0;
      return 'restartable';
    }
    this.#unstable = uptimeMs < this.#options.unstableWindowMs ? this.#unstable + 1 : 0;
    const { backoffBaseMs, backoffFactor, backoffCapMs } = this.#options;
    const exponent = Math.max(0, this.#unstable - 1);
    this.#notBefore = now + Math.min(backoffCapMs, backoffBaseMs * backoffFactor ** exponent);
    return this.#unstable >= this.#options.maxUnstable ? 'fatal' : 'restartable';
  }

  /** Milliseconds to wait before the next start is allowed. */
  delayMs(now: number): number {
    return Math.max(0, this.#notBefore - now);
  }

  /** An explicit start forgives everything. */
  reset(): void {
    this.#unstable = 0;
    this.#notBefore = 0;
  }
}
