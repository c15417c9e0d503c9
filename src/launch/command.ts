/**
 * The command launcher: any tool that forwards stdio is a launcher. Its argv prefix runs the runner
 * somewhere else: `docker run -i --rm IMAGE`, `srun --gres=gpu:1`, `ssh gpu-box`. The prefix's own
 * process is local (its group is signalled as a local pod's); what it starts is its business: it
 * must end when its stdin closes, which the runner does.
 */
import { delimiter } from 'node:path';
import { PODS_DIR } from '../paths.js';
import { spawnPodProcess } from '../pod/spawn.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { CommandLauncherConfig } from './config.js';
import { RUNNER_BOOTSTRAP } from './local.js';
import type { Launcher, PodStart, Prepared } from './types.js';

export class CommandLauncher implements Launcher {
  readonly name: string;
  readonly locality: 'local' | 'remote';
  readonly #config: CommandLauncherConfig;

  constructor(name: string, config: CommandLauncherConfig) {
    this.name = name;
    this.#config = config;
    this.locality = config.locality;
  }

  /** Nothing to build here: the other side has its interpreter and the recipe's dependencies. */
  async prepare(loaded: LoadedRecipe): Promise<Prepared> {
    return { loaded };
  }

  start({ loaded }: Prepared, { env }: PodStart) {
    const [executable, ...prefix] = this.#config.argv as [string, ...string[]];
    const recipeDir = this.#config.recipeDir ?? loaded.dir;
    return spawnPodProcess(
      {
        executable,
        args: [...prefix, this.#config.python, '-u', '-c', RUNNER_BOOTSTRAP, recipeDir],
        cwd: loaded.dir,
        // The prefix runs here: it needs PATH to find its tools. PYTHONPATH names this machine's
        // runner, which a local wrapper uses as is; a container or another host sets its own.
        env: {
          PATH: process.env['PATH'],
          ...env,
          PYTHONPATH: [PODS_DIR, env['PYTHONPATH']].filter(Boolean).join(delimiter),
        },
      },
      { launcher: this.name, locality: this.locality },
    );
  }
}
