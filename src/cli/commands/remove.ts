import type { Command } from 'commander';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';

export function registerRemove(program: Command): void {
  withConnectionOptions(program.command('remove'))
    .description('remove an installed recipe')
    .argument('<name>', 'recipe name')
    .action(async (name: string, options: ConnectionFlags) => {
      await withClient(options, (client) => client.remove(name));
      process.stdout.write(`removed ${name}\n`);
    });
}
