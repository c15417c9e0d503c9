import type { Command } from 'commander';
import { PodkeeperError } from '../../errors.js';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { printJson } from '../output.js';

export function registerStop(program: Command): void {
  withConnectionOptions(program.command('stop'))
    .description('stop the pods of a recipe (by name or capability, every replica), one pod by id, or --all')
    .argument('[target]', 'recipe name, capability or pod id')
    .option('--all', 'stop every pod')
    .option('--json', 'machine-readable output')
    .action(
      async (target: string | undefined, options: ConnectionFlags & { all?: boolean; json?: boolean }) => {
        if (target === undefined && options.all !== true)
          throw new PodkeeperError('BAD_REQUEST', 'Give a TARGET (recipe, capability or pod id) or --all.');
        if (target !== undefined && options.all === true)
          throw new PodkeeperError('BAD_REQUEST', 'Give a TARGET or --all, not both.');
        const stopped = await withClient(options, async (client) => {
          if (options.all) return client.stop({ all: true });
          const id = target as string;
          const live = await client.pods();
          return client.stop(live.some((pod) => pod.id === id) ? { podId: id } : { target: id });
        });
        if (options.json) return printJson({ pods: stopped });
        if (stopped.length === 0) process.stdout.write('no pod was running\n');
        for (const pod of stopped) process.stdout.write(`stopped ${pod.id}\n`);
      },
    );
}
