import type { Command } from 'commander';
import type { PodkeeperClient } from '../../client/client.js';
import { PodkeeperError } from '../../errors.js';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { formatLogLine } from '../output.js';
import { count } from '../parse.js';

interface LogsFlags extends ConnectionFlags {
  follow?: boolean;
  lines: number;
  json?: boolean;
}

export function registerLogs(program: Command): void {
  withConnectionOptions(program.command('logs'))
    .description('recent log lines of a recipe, a pod, or every pod (kept after a pod stops); -f follows')
    .argument('[target]', 'recipe name, capability or pod id (default: every pod)')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('-n, --lines <n>', 'how many recent lines', count, 50)
    .option('--json', 'one JSON object per line')
    .action(async (target: string | undefined, options: LogsFlags) => {
      await withClient(options, async (client) => {
        const filter = { ...(await selector(client, target)), lines: options.lines };
        const print = (line: Parameters<typeof formatLogLine>[0]) =>
          process.stdout.write(`${options.json ? JSON.stringify(line) : formatLogLine(line)}\n`);
        if (!options.follow) {
          for (const line of await client.logs(filter)) print(line);
          return;
        }
        const subscription = await client.followLogs(filter);
        const stop = () => subscription.close();
        process.once('SIGINT', stop).once('SIGTERM', stop);
        try {
          for await (const event of subscription) {
            if (event.event === 'lagged') {
              process.stderr.write(
                `(${event.dropped} lines skipped: they came faster than they were read)\n`,
              );
              continue;
            }
            const { type: _type, id: _id, event: _event, ...line } = event;
            print(line);
          }
        } finally {
          process.off('SIGINT', stop).off('SIGTERM', stop);
        }
      });
    });
}

/**
 * A pod id when one is running (or has logged) by that name, else a recipe or capability; a name
 * that is none of these is `UNKNOWN_TARGET`, not an empty answer.
 */
async function selector(client: PodkeeperClient, target: string | undefined) {
  if (target === undefined) return {};
  const [pods, recipes] = await Promise.all([client.pods(), client.recipes()]);
  if (pods.some((pod) => pod.id === target)) return { podId: target };
  if (recipes.some((r) => r.name === target || r.capability === target)) return { target };
  if ((await client.logs({ podId: target, lines: 1 })).length > 0) return { podId: target };
  const known = recipes.map((r) => r.name).join(', ') || 'none';
  throw new PodkeeperError(
    'UNKNOWN_TARGET',
    `No recipe, capability or pod named "${target}" (recipes: ${known}; pods: see podkeeper ps).`,
    { details: { target } },
  );
}
