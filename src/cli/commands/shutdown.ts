import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import { connect } from '../../client/connect.js';
import { isPodkeeperError } from '../../errors.js';
import { type ConnectionFlags, withConnectionOptions } from '../connection.js';

export function registerShutdown(program: Command): void {
  withConnectionOptions(program.command('shutdown'))
    .description('stop the daemon gracefully: calls in flight finish, every pod is stopped')
    .action(async (options: ConnectionFlags) => {
      // Like `stop` of a pod that is not running: the wanted state holds already.
      const client = await connect(options).catch((error: unknown) => {
        if (isPodkeeperError(error, 'DAEMON_NOT_RUNNING')) return undefined;
        throw error;
      });
      if (!client) {
        process.stdout.write('no daemon was running\n');
        return;
      }
      try {
        await client.shutdown();
        // The daemon hangs up once it has stopped.
        await Promise.race([client.closed, delay(120_000, undefined, { ref: false })]);
      } finally {
        await client.close();
      }
      process.stdout.write('daemon stopped\n');
    });
}
