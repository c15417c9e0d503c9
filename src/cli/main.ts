/**
 * The podkeeper command line. The daemon commands (DESIGN §7) arrive with the control plane; until
 * then `run` calls a recipe in-process, which is also what a recipe author wants while writing one.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { isPodkeeperError, PodManager } from '../index.js';

const program = new Command()
  .name('podkeeper')
  .description('Supervises Python worker pods: on-demand spawn, JSON-lines IPC, idle reclaim, recipes.')
  .showHelpAfterError();

program
  .command('run')
  .description('start TARGET (a recipe or capability) in-process, call it once, print the result, stop it')
  .argument('<target>', 'recipe name or capability')
  .argument('[input]', 'JSON input, or - to read it from stdin', '{}')
  .option('-a, --action <action>', 'recipe action', 'process')
  .option('-t, --timeout <seconds>', 'seconds without an answer before TIMEOUT', parseSeconds)
  .action(async (target: string, input: string, options: { action: string; timeout?: number }) => {
    const manager = new PodManager({ idleTimeout: -1 });
    try {
      const result = await manager.call(target, parseInput(input), {
        action: options.action,
        timeout: options.timeout,
        onEvent: (event) => {
          if (event.type === 'chunk') process.stdout.write(`${JSON.stringify(event.data)}\n`);
          else process.stderr.write(`progress ${Math.round(event.progress * 100)}% ${event.message ?? ''}\n`);
        },
      });
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      await manager.close();
    }
  });

program
  .command('recipes')
  .description('list the recipes this checkout can serve')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const manager = new PodManager();
    const recipes = (await manager.recipes()).map(({ recipe, dir, builtin }) => ({
      name: recipe.name,
      version: recipe.version,
      capability: recipe.capability,
      builtin,
      dir,
    }));
    await manager.close();
    if (options.json) process.stdout.write(`${JSON.stringify({ recipes }, null, 2)}\n`);
    else
      for (const r of recipes) process.stdout.write(`${r.name}\t${r.version}\t${r.capability}\t${r.dir}\n`);
  });

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError('expected a positive number of seconds');
  return seconds;
}

function parseInput(input: string): unknown {
  const text = input === '-' ? readFileSync(0, 'utf8') : input;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`BAD_REQUEST: the input is not valid JSON: ${text.slice(0, 80)}`);
  }
}

program.parseAsync().catch((error: unknown) => {
  const code = isPodkeeperError(error) ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`podkeeper: ${message.startsWith(code) ? message : `${code}: ${message}`}\n`);
  process.exitCode = 1;
});
