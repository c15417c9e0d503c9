import type { Command } from 'commander';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { printJson, printTable } from '../output.js';

export function registerRecipes(program: Command): void {
  withConnectionOptions(program.command('recipes'))
    .description('the recipes the daemon serves, built-in and installed, with the state of their pod')
    .option('--json', 'machine-readable output')
    .action(async (options: ConnectionFlags & { json?: boolean }) => {
      const [recipes, pods, status] = await withClient(options, (client) =>
        Promise.all([client.recipes(), client.pods(), client.status()]),
      );
      // pm2's `errored`: a fatal recipe is shown as such, not as if it were merely idle.
      const fatal = new Set(status.fatal.map((f) => f.recipe));
      const state = (name: string) =>
        fatal.has(name) ? 'fatal' : (pods.find((pod) => pod.recipe === name)?.state ?? 'idle');
      if (options.json) return printJson({ recipes: recipes.map((r) => ({ ...r, state: state(r.name) })) });
      printTable(
        ['NAME', 'VERSION', 'CAPABILITY', 'STATE', 'BUILTIN', 'SOURCE'],
        recipes.map((r) => [
          r.name,
          r.version,
          r.capability,
          state(r.name),
          r.builtin ? 'yes' : 'no',
          r.source,
        ]),
      );
    });
}
