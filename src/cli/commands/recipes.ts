import type { Command } from 'commander';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { printJson, printTable } from '../output.js';

export function registerRecipes(program: Command): void {
  withConnectionOptions(program.command('recipes'))
    .description('the recipes the daemon serves, built-in and installed')
    .option('--json', 'machine-readable output')
    .action(async (options: ConnectionFlags & { json?: boolean }) => {
      const recipes = await withClient(options, (client) => client.recipes());
      if (options.json) return printJson({ recipes });
      printTable(
        ['NAME', 'VERSION', 'CAPABILITY', 'BUILTIN', 'SOURCE'],
        recipes.map((r) => [r.name, r.version, r.capability, r.builtin ? 'yes' : 'no', r.source]),
      );
    });
}
