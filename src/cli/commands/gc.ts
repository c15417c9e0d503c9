import type { Command } from 'commander';
import { formatBytes } from '../../install/download.js';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { printJson } from '../output.js';

export function registerGc(program: Command): void {
  withConnectionOptions(program.command('gc'))
    .description('remove the Python envs no recipe needs (never one in use or being built)')
    .option('--json', 'machine-readable output')
    .action(async (options: ConnectionFlags & { json?: boolean }) => {
      const result = await withClient(options, (client) => client.gc());
      if (options.json) return printJson(result);
      for (const hash of result.removed) process.stdout.write(`removed ${hash}\n`);
      for (const { hash, reason } of result.kept) process.stdout.write(`kept ${hash} (${reason})\n`);
      const envs = (n: number) => `${n} env${n === 1 ? '' : 's'}`;
      process.stdout.write(
        `${envs(result.removed.length)} removed (${formatBytes(result.freedBytes)} freed), ` +
          `${envs(result.kept.length)} kept\n`,
      );
    });
}
