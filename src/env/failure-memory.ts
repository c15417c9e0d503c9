/**
 * Failed preparations, remembered for `retryAfterMs` so a crash loop does not rebuild in a tight loop.
 */
import { performance } from 'node:perf_hooks';
import { isPodkeeperError, PodkeeperError } from '../errors.js';
import type { EnvContext } from './context.js';

export class FailureMemory {
  readonly #ctx: EnvContext;
  readonly #failures = new Map<string, { error: PodkeeperError; until: number }>();

  constructor(ctx: EnvContext) {
    this.#ctx = ctx;
  }

  /** The remembered failure of this preparation, while it is fresh. */
  recent(id: string): PodkeeperError | undefined {
    const failed = this.#failures.get(id);
    return failed && failed.until > performance.now() ? failed.error : undefined;
  }

  forget(id: string): void {
    this.#failures.delete(id);
  }

  /**
   * The error a failed preparation answers (as a PodkeeperError), remembered and reported unless
   * the failure is the shutdown.
   */
  record(id: string, recipe: string, hash: string | null, error: unknown): PodkeeperError {
    const failure = isPodkeeperError(error)
      ? error
      : new PodkeeperError('ENV_BUILD_FAILED', `The environment of recipe "${recipe}": ${String(error)}`, {
          cause: error,
          details: { recipe, ...(hash ? { hash } : {}) },
        });
    if (failure.code !== 'SHUTTING_DOWN') {
      this.#failures.set(id, {
        error: failure,
        until: performance.now() + (this.#ctx.options.retryAfterMs ?? 30_000),
      });
      const requirement = failure.details['requirement'];
      this.#ctx.options.emit({
        event: 'env.failed',
        recipe,
        hash,
        message: failure.message,
        requirement: typeof requirement === 'string' ? requirement : null,
      });
      this.#ctx.log.warn({ recipe, hash }, failure.message);
    }
    return failure;
  }
}
