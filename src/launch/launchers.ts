/**
 * Which launcher serves a recipe: the daemon's `placement` map names one of its `launchers`; every
 * other recipe runs on the built-in local launcher. Also the budget's locality rule: only local
 * memory counts, so a remote pod is counted as its bridge, never as its model.
 */
import { PodkeeperError } from '../errors.js';
import { CommandLauncher } from './command.js';
import type { LauncherConfig } from './config.js';
import { RayLauncher, type RayLauncherDeps } from './ray.js';
import type { Launcher } from './types.js';

/** What a bridge process holds locally (Python with Ray imported: ~95 MB measured). */
export const BRIDGE_ESTIMATE_MB = 100;

/** Every launcher the placement map names is defined; else `INVALID_OPTION` naming the recipe. */
export function checkPlacement(defined: string[], placement: Record<string, string>): void {
  for (const [recipe, name] of Object.entries(placement)) {
    if (defined.includes(name)) continue;
    throw new PodkeeperError(
      'INVALID_OPTION',
      `placement sends recipe "${recipe}" to launcher "${name}", which \`launchers\` does not define ` +
        `(defined: ${defined.join(', ') || 'none'}).`,
      { details: { field: `placement.${recipe}`, received: name } },
    );
  }
}

export class Launchers {
  readonly local: Launcher;
  readonly #byName = new Map<string, Launcher>();
  readonly #placement: Record<string, string>;

  constructor(local: Launcher, others: Launcher[], placement: Record<string, string>) {
    this.local = local;
    for (const launcher of others) this.#byName.set(launcher.name, launcher);
    checkPlacement([...this.#byName.keys()], placement);
    this.#placement = placement;
  }

  /** Builds the configured launchers (`launchers` of config.json). */
  static fromConfig(
    local: Launcher,
    configs: Record<string, LauncherConfig>,
    placement: Record<string, string>,
    deps: RayLauncherDeps,
  ): Launchers {
    const others = Object.entries(configs).map(([name, config]) =>
      config.kind === 'ray' ? new RayLauncher(name, config, deps) : new CommandLauncher(name, config),
    );
    return new Launchers(local, others, placement);
  }

  for(recipe: string): Launcher {
    const name = this.#placement[recipe];
    return (name && this.#byName.get(name)) || this.local;
  }

  isRemote(recipe: string): boolean {
    return this.for(recipe).locality === 'remote';
  }

  /** The memory a new pod of `recipe` takes on this machine, given what its recipe would take. */
  localEstimateMB(recipe: string, recipeEstimateMB: number): number {
    return this.isRemote(recipe) ? BRIDGE_ESTIMATE_MB : recipeEstimateMB;
  }

  all(): Launcher[] {
    return [this.local, ...this.#byName.values()];
  }
}
