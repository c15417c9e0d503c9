import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { recipePathFrom } from '../../location/environment.js';
import { printJson } from '../output.js';
import { jsonInput, timeoutSeconds } from '../parse.js';

interface RunFlags {
  action: string;
  timeout?: number;
  json?: boolean;
}

/**
 * `run`: no daemon. Starts the recipe in-process, calls it once, stops it: for recipe authors. The
 * target may be a recipe folder (`run ../my-recipe`), served as if it were on the recipe path.
 */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('without a daemon: start TARGET in-process, call it once, print the result, stop it')
    .argument('<target>', 'recipe name, capability, or a recipe folder')
    .argument('[input]', 'JSON input, or - to read it from stdin', '{}')
    .option('-a, --action <action>', 'recipe action', 'process')
    .option('-t, --timeout <sec>', 'seconds (> 0) without an answer before TIMEOUT', timeoutSeconds)
    .option('--json', 'compact output for scripts: one JSON line per chunk, then the result on one line')
    .action(async (target: string, input: string, options: RunFlags) => {
      const payload = jsonInput(input);
      const { PodManager } = await import('../../manager/pod-manager.js');
      const folder = await recipeFolder(target);
      const manager = new PodManager({
        idleTimeout: -1,
        ...(folder ? { recipePath: [folder.dir, ...recipePathFrom(process.env)] } : {}),
      });
      try {
        const result = await manager.call(folder?.name ?? target, payload, {
          action: options.action,
          timeout: options.timeout,
          onEvent: (event) => {
            if (event.type === 'chunk') process.stdout.write(`${JSON.stringify(event.data)}\n`);
            else if (!options.json)
              process.stderr.write(`progress ${Math.round(event.progress * 100)}% ${event.message ?? ''}\n`);
          },
        });
        printJson(result, !options.json);
      } finally {
        await manager.close();
      }
    });
}

/** A target that is a folder with a recipe.json: its path and the name it declares. */
async function recipeFolder(target: string): Promise<{ dir: string; name: string } | undefined> {
  const dir = resolve(target);
  if (!existsSync(resolve(dir, 'recipe.json'))) return undefined;
  const { readRecipe } = await import('../../recipes/catalog.js');
  const { recipe } = await readRecipe(dir);
  return { dir, name: recipe.name };
}
