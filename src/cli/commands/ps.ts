import type { Command } from 'commander';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { duration, printJson, printTable } from '../output.js';

export function registerPs(program: Command): void {
  withConnectionOptions(program.command('ps'))
    .description(
      'running pods, one row per replica (id, recipe, replica index, state, pid, RSS, uptime, idle time, time until reclaim, calls, restarts), ' +
        'then the recipes that are fatal and the zygotes (RSS: resident memory, which its pods share)',
    )
    .option('--json', 'machine-readable output')
    .action(async (options: ConnectionFlags & { json?: boolean }) => {
      const [pods, { fatal, zygotes }] = await withClient(options, async (client) =>
        Promise.all([client.pods(), client.status()]),
      );
      if (options.json) return printJson({ pods, fatal, zygotes });
      const now = Date.now();
      const since = (iso: string) => duration((now - Date.parse(iso)) / 1000);
      // WHERE only when a pod runs elsewhere: a daemon without launchers prints the table it always did.
      const elsewhere = pods.some((pod) => pod.where && pod.where.launcher !== 'local');
      const whereColumn = (value: string) => (elsewhere ? [value] : []);
      printTable(
        [
          'ID',
          'RECIPE',
          'REPLICA',
          'STATE',
          'PID',
          'RSS MB',
          'UPTIME',
          'IDLE',
          'UNTIL',
          'CALLS',
          'RESTARTS',
          ...whereColumn('WHERE'),
        ],
        [
          ...pods.map((pod) => [
            pod.id,
            pod.recipe,
            pod.replica,
            pod.state,
            pod.pid ?? '-',
            pod.rssMB === null ? '-' : pod.rssMB.toFixed(1),
            since(pod.startedAt),
            pod.inFlight > 0 || pod.queued > 0
              ? `busy (${pod.inFlight}+${pod.queued})`
              : since(pod.lastUsedAt),
            until(pod),
            pod.calls,
            pod.restarts,
            ...whereColumn(where(pod.where)),
          ]),
          ...fatal.map((f) => [
            '-',
            f.recipe,
            '-',
            'fatal',
            '-',
            '-',
            '-',
            '-',
            '-',
            '-',
            f.crashes,
            ...whereColumn('-'),
          ]),
          ...zygotes.map((z) => [
            '-',
            z.recipe,
            '-',
            'zygote',
            z.pid,
            z.memoryMB === null ? '-' : z.memoryMB.toFixed(1),
            '-',
            '-',
            '-',
            '-',
            '-',
            ...whereColumn('local'),
          ]),
        ],
      );
      for (const f of fatal) {
        const last = f.stderrTail.at(-1);
        process.stdout.write(
          `${f.recipe}: fatal after ${f.crashes} crashes in a row, tried again in ${Math.ceil(f.retryInMs / 1000)} s ` +
            `(or now: podkeeper start ${f.recipe})${last ? `; last error: ${last}` : ''}\n`,
        );
      }
    });
}

/** `local`, or the launcher and the host it placed the pod on (`gpu@10.0.0.7`). */
function where(at: { launcher: string; host?: string } | undefined): string {
  if (!at) return '-';
  return at.host ? `${at.launcher}@${at.host}` : at.launcher;
}

/** Ollama's UNTIL: when an idle pod is reclaimed ("4m59s"), "busy" while it works, "forever" when never. */
function until(pod: { reclaimInSeconds: number | null; inFlight: number; queued: number }): string {
  if (pod.reclaimInSeconds !== null) return duration(pod.reclaimInSeconds);
  return pod.inFlight > 0 || pod.queued > 0 ? '-' : 'forever';
}
