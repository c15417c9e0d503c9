import type { Command } from 'commander';
import { connect } from '../../client/connect.js';
import { type ConnectionFlags, withConnectionOptions } from '../connection.js';

export function registerShutdown(program: Command): void {
  withConnectionOptions(program.command('shutdown'))
    .description('stop the daemon gracefully: calls in flight finish, every pod is stopped')
    .action(async (options: ConnectionFlags) => {
      const client = await connect(options);
      try {
        await client.shutdown();
        // The daemon hangs up once it has stopped.
        await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 120_000).unref())]);
      } finally {
        await client.close();
      }
      process.stdout.write('daemon stopped\n');
    });
}
