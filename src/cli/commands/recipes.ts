import type { Command } from 'commander';
import type { PodkeeperClient } from '../../client/client.js';
import { formatBytes } from '../../install/download.js';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { printJson, printTable } from '../output.js';

interface RecipesFlags extends ConnectionFlags {
  json?: boolean;
  available?: boolean;
}

export function registerRecipes(program: Command): void {
  withConnectionOptions(program.command('recipes'))
    .description('the recipes the daemon serves, built-in and installed, with the state of their pod')
    .option('--available', 'the recipe index instead: what `podkeeper install NAME` can install, with sizes')
    .option('--json', 'machine-readable output')
    .action(async (options: RecipesFlags) => {
      await withClient(options, (client) =>
        options.available ? available(client, options) : served(client, options),
      );
    });
}

async function served(client: PodkeeperClient, options: RecipesFlags): Promise<void> {
  const [recipes, pods, status] = await Promise.all([client.recipes(), client.pods(), client.status()]);
  // pm2's `errored`: a fatal recipe is shown as such, not as if it were merely idle.
  const fatal = new Set(status.fatal.map((f) => f.recipe));
  const state = (name: string) =>
    fatal.has(name) ? 'fatal' : (pods.find((pod) => pod.recipe === name)?.state ?? 'idle');
  if (options.json) return printJson({ recipes: recipes.map((r) => ({ ...r, state: state(r.name) })) });
  printTable(
    ['NAME', 'VERSION', 'CAPABILITY', 'STATE', 'BUILTIN', 'SOURCE'],
    recipes.map((r) => [r.name, r.version, r.capability, state(r.name), r.builtin ? 'yes' : 'no', r.source]),
  );
}

async function available(client: PodkeeperClient, options: RecipesFlags): Promise<void> {
  const entries = await client.availableRecipes();
  if (options.json) return printJson({ available: entries });
  printTable(
    ['NAME', 'VERSION', 'CAPABILITY', 'SIZE', 'INSTALLED', 'DESCRIPTION'],
    entries.map((r) => [
      r.name,
      r.version,
      r.capability,
      r.size === null ? '-' : formatBytes(r.size),
      r.installed ? 'yes' : 'no',
      r.description ?? '',
    ]),
  );
}
