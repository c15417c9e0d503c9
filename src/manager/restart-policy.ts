/**
 * When a pod that ended may start again (docs/architecture.md#pod-lifecycle).
 *
 * - A pod that could not start (it died before `ready`, timed out, or failed by itself soon after
 *   start: an exit code, SIGSEGV, SIGABRT…) is an unstable crash: the next start waits a backoff of
 *   base × factorⁿ (capped), and `maxUnstable` of them in a row make the recipe fatal.
 * - A ready pod killed from outside (SIGKILL, SIGTERM, SIGINT, SIGHUP we did not send: the OOM
 *   killer, an operator, a chaos loop; the runner answers SIGTERM with a clean exit 0) is not the
 *   recipe's fault: it restarts at once, never counts toward fatal, and (having reached ready)
 *   clears the count of earlier failures to start. Killed so while still loading, it counts only
 *   when no pod of the recipe has ever reached ready (then it may be the recipe, e.g. OOM at load).
 * - A process that could not be spawned at all (SPAWN_FAILED) waits the first backoff, never fatal.
 * - A remote pod's infrastructure is not the recipe either: a lost node (REMOTE_LOST) restarts at
 *   once, no node with the resources in time (NO_CAPACITY) or a cluster out of reach
 *   (REMOTE_UNAVAILABLE) waits the first backoff; none of them counts toward fatal.
 * - Fatal is not forever: it lasts a cool-down (`fatalCooldown`, doubled at each fatal in a row up
 *   to `fatalCooldownCap`), then the recipe gets one more try; one more unstable crash makes it fatal
 *   again. An explicit start clears it at once. A stable run (a stop, or a crash after the unstable
 *   window) forgives everything.
 */
import type { ErrorCode } from '../errors.js';
import type { ExitReason, PodExit } from '../pod/pod.js';

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
  /** How long the first fatal state lasts before the recipe is tried again. @default 30_000 */
  fatalCooldownMs: number;
  /** The longest a fatal state lasts (the cool-down doubles at each fatal in a row). @default 600_000 */
  fatalCooldownCapMs: number;
}

const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  backoffBaseMs: 500,
  backoffFactor: 1.5,
  backoffCapMs: 15_000,
  unstableWindowMs: 10_000,
  maxUnstable: 5,
  fatalCooldownMs: 30_000,
  fatalCooldownCapMs: 600_000,
};

/** Signals that come from outside the pod: a ready pod dying of one of these was killed, not broken. */
const EXTERNAL_SIGNALS: ReadonlySet<string> = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']);

/** How a pod ended, as far as the policy cares. */
export interface EndedPod {
  reason: ExitReason;
  uptimeMs: number;
  /** The signal that ended it, if any. */
  signal: string | null;
  exitCode: number | null;
  /** Whether it had sent `ready`. */
  wasReady: boolean;
  /** Whether its process could not be started at all (SPAWN_FAILED: out of descriptors…). */
  spawnFailed?: boolean;
  /** The code of the error it ended with (a remote launcher's REMOTE_LOST, NO_CAPACITY…). */
  code?: ErrorCode;
}

/** What the policy reads from a pod's exit. */
export function endedPod({ pod, reason, facts, error }: PodExit): EndedPod {
  const { uptimeMs, signal, exitCode } = facts;
  const wasReady = pod.readyInfo !== undefined;
  return {
    reason,
    uptimeMs,
    signal,
    exitCode,
    wasReady,
    spawnFailed: error.code === 'SPAWN_FAILED',
    code: error.code,
  };
}

/** Ends that are the infrastructure's doing, not the recipe's: never counted toward fatal. */
const REMOTE_ENDS: ReadonlySet<string> = new Set(['REMOTE_LOST', 'NO_CAPACITY', 'REMOTE_UNAVAILABLE']);

export type ExitVerdict = 'restartable' | 'fatal';

export class RestartPolicy {
  readonly #options: RestartPolicyOptions;
  #unstable = 0;
  #notBefore = 0;
  /** Fatal states in a row (reset by a stable run); each doubles the next cool-down. */
  #fatals = 0;
  /** Monotonic ms when the current fatal state ends; 0 when not fatal. */
  #fatalUntil = 0;
  /** Whether a pod of this recipe has ever reached ready. */
  #startedOnce = false;

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
    fatalCooldown: number;
    fatalCooldownCap: number;
  }): RestartPolicy {
    return new RestartPolicy({
      backoffBaseMs: restart.backoffBase * 1000,
      backoffFactor: restart.backoffFactor,
      backoffCapMs: restart.backoffCap * 1000,
      unstableWindowMs: restart.unstableWindow * 1000,
      maxUnstable: restart.maxUnstable,
      fatalCooldownMs: restart.fatalCooldown * 1000,
      fatalCooldownCapMs: Math.max(restart.fatalCooldownCap, restart.fatalCooldown) * 1000,
    });
  }

  /** Unstable crashes in a row so far. */
  get unstableCrashes(): number {
    return this.#unstable;
  }

  /** Records how a pod ended, at `now` (monotonic ms). */
  record(ended: EndedPod, now: number): ExitVerdict {
    const { reason, uptimeMs, signal, exitCode, wasReady, spawnFailed, code } = ended;
    if (reason === 'stopped' || reason === 'killed') {
      if (reason === 'stopped') this.#forgive();
      this.#notBefore = 0;
      return 'restartable';
    }
    if (spawnFailed) {
      // The daemon could not start a process (no descriptor left…): not the recipe's fault, and the
      // next call must be able to retry. Wait the first backoff; count nothing.
      this.#notBefore = now + this.#options.backoffBaseMs;
      return 'restartable';
    }
    if (code !== undefined && REMOTE_ENDS.has(code)) {
      // The node went away (restart on another at once), or none had room or answered (wait a little).
      this.#notBefore = code === 'REMOTE_LOST' ? 0 : now + this.#options.backoffBaseMs;
      return 'restartable';
    }
    const fromOutside = (signal !== null && EXTERNAL_SIGNALS.has(signal)) || exitCode === 0;
    if (reason === 'crashed' && fromOutside && wasReady) {
      // It reached ready: the recipe can start. Earlier failures to start are forgiven too.
      this.#forgive();
      this.#notBefore = 0;
      return 'restartable';
    }
    if (reason === 'crashed' && fromOutside && this.#startedOnce) {
      // Killed while loading, by a recipe whose pods have reached ready before: a chaos loop or
      // memory pressure, not a recipe that cannot start. Wait the first backoff; count nothing.
      this.#notBefore = now + this.#options.backoffBaseMs;
      return 'restartable';
    }
    if (uptimeMs >= this.#options.unstableWindowMs) {
      this.#forgive();
    } else {
      this.#unstable += 1;
    }
    const { backoffBaseMs, backoffFactor, backoffCapMs } = this.#options;
    const exponent = Math.max(0, this.#unstable - 1);
    this.#notBefore = now + Math.min(backoffCapMs, backoffBaseMs * backoffFactor ** exponent);
    if (this.#unstable < this.#options.maxUnstable) return 'restartable';
    this.#fatals += 1;
    const { fatalCooldownMs, fatalCooldownCapMs } = this.#options;
    this.#fatalUntil = now + Math.min(fatalCooldownCapMs, fatalCooldownMs * 2 ** (this.#fatals - 1));
    return 'fatal';
  }

  /** A pod reached ready: the recipe is known to start. */
  noteReady(): void {
    this.#startedOnce = true;
  }

  /** Milliseconds to wait before the next start is allowed. */
  delayMs(now: number): number {
    return Math.max(0, this.#notBefore - now);
  }

  /** True from a fatal verdict until its cool-down is ended (endCooldown) or forgiven (a stable run, reset). */
  get isFatal(): boolean {
    return this.#fatalUntil !== 0;
  }

  /** Milliseconds left in the current fatal state (0 when it is over, or there is none). */
  fatalLeftMs(now: number): number {
    return this.#fatalUntil === 0 ? 0 : Math.max(0, this.#fatalUntil - now);
  }

  /**
   * Ends a fatal state whose cool-down is over: the recipe gets one more try, and one more unstable
   * crash makes it fatal again (with a longer cool-down). True when there was one to end.
   */
  endCooldown(now: number): boolean {
    if (this.#fatalUntil === 0 || this.#fatalUntil > now) return false;
    this.#fatalUntil = 0;
    this.#unstable = this.#options.maxUnstable - 1;
    this.#notBefore = 0;
    return true;
  }

  /** An explicit start forgives everything. */
  reset(): void {
    this.#forgive();
    this.#notBefore = 0;
  }

  #forgive(): void {
    this.#unstable = 0;
    this.#fatals = 0;
    this.#fatalUntil = 0;
  }
}
