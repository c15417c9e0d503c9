import type { Command } from 'commander';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { duration, printJson, printTable } from '../output.js';

export function registerPs(program: Command): void {
  withConnectionOptions(program.command('ps'))
    .description('running pods: id, recipe, state, pid, RSS, uptime, idle time, calls')
    .option('--json', 'machine-readable output')
    .action(async (options: ConnectionFlags & { json?: boolean }) => {
      const pods = await withClient(options, (client) => client.pods());
      if (options.json) return printJson({ pods });
      const now = Date.now();
      const since = (iso: string) => duration((now - Date.parse(iso)) / 1000);
      printTable(
        ['ID', 'RECIPE', 'STATE', 'PID', 'RSS MB', 'UPTIME', 'IDLE', 'CALLS'],
        pods.map((pod) => [
          pod.id,
          pod.recipe,
          pod.state,
          pod.pid ?? '-',
          pod.rssMB === null ? '-' : pod.rssMB.toFixed(1),
          since(pod.startedAt),
          pod.inFlight > 0 || pod.queued > 0 ? `busy (${pod.inFlight}+${pod.queued})` : since(pod.lastUsedAt),
          pod.calls,
        ]),
      );
    });
}
