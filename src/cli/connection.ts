/** Options every daemon-facing command takes, and a connection that is always closed afterwards. */
import type { Command } from 'commander';
import type { PodkeeperClient } from '../client/client.js';
import { connect } from '../client/connect.js';

export interface ConnectionFlags {
  home?: string;
  socket?: string;
}

export function withConnectionOptions(command: Command): Command {
  return command
    .option('--home <dir>', 'daemon home (env PODKEEPER_HOME)')
    .option('--socket <path>', 'control socket (env PODKEEPER_SOCKET)');
}

export async function withClient<T>(
  flags: ConnectionFlags,
  use: (client: PodkeeperClient) => Promise<T>,
): Promise<T> {
  const client = await connect({ home: flags.home, socket: flags.socket });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}
