import type { Command } from 'commander';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { duration, printFacts, printJson } from '../output.js';

export function registerStatus(program: Command): void {
  withConnectionOptions(program.command('status'))
    .description('the daemon, its pods, memory and recipes at a glance')
    .option('--json', 'machine-readable output')
    .action(async (options: ConnectionFlags & { json?: boolean }) => {
      const status = await withClient(options, (client) => client.status());
      if (options.json) return printJson(status);
      printFacts([
        [
          'daemon',
          `running, pid ${status.pid}, version ${status.version}, up ${duration(status.uptimeSeconds)}`,
        ],
        ['home', status.home],
        ['socket', status.socket ?? '(stdio only)'],
        ['python', `${status.python} (env mode ${status.envMode})`],
        ['memory', `${status.memory.usedMB} MB used by pods of ${status.memory.maxMB} MB budget`],
        ['pods', status.pods],
        ['recipes', status.recipes],
        ['clients', status.connections],
      ]);
    });
}
