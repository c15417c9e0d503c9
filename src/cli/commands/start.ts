import type { Command } from 'commander';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { printJson } from '../output.js';

export function registerStart(program: Command): void {
  withConnectionOptions(program.command('start'))
    .description("start a recipe's pod and wait until it is ready (clears a POD_FATAL state)")
    .argument('<target>', 'recipe name or capability')
    .option('--json', 'machine-readable output')
    .action(async (target: string, options: ConnectionFlags & { json?: boolean }) => {
      const pod = await withClient(options, (client) => client.start(target));
      if (options.json) return printJson(pod);
      const ready = pod.spawnToReadyMs === null ? '' : `, ready in ${pod.spawnToReadyMs} ms`;
      process.stdout.write(`${pod.id} ${pod.state} (pid ${pod.pid ?? '?'}${ready})\n`);
    });
}
