/** What environment work reports; the manager re-emits these as its own events. */
import type { ResolvedEnvMode } from './mode.js';
import type { EnvPhase } from './progress.js';

export type EnvEvent =
  /** A step of an env build or a system install, for the recipe whose spawn started it. */
  | { event: 'env.progress'; recipe: string; hash: string | null; phase: EnvPhase; message: string }
  /** An env was built (venv mode) or requirements were installed into the system Python. */
  | { event: 'env.built'; recipe: string; hash: string | null; mode: ResolvedEnvMode; ms: number }
  | { event: 'env.failed'; recipe: string; hash: string | null; message: string; requirement: string | null }
  /** An external command finished (uv, pip, apt, a probe). */
  | {
      event: 'env.command';
      recipe: string | null;
      command: string;
      args: string[];
      exitCode: number | null;
      ms: number;
    }
  /** An env folder was removed: unreferenced (gc) or found broken and discarded before a rebuild. */
  | { event: 'env.removed'; recipe: string | null; hash: string; reason: 'gc' | 'broken' };
