import type { Command } from 'commander';
import type { EnvironmentSummary } from '../../protocol/control-results.js';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { duration, printFacts, printJson } from '../output.js';

export function registerStatus(program: Command): void {
  withConnectionOptions(program.command('status'))
    .description('the daemon, its pods, memory and recipes at a glance')
    .option('--json', 'machine-readable output')
    .action(async (options: ConnectionFlags & { json?: boolean }) => {
      const status = await withClient(options, (client) => client.status());
      if (options.json) return printJson(status);
      const { environment: env } = status;
      printFacts([
        [
          'daemon',
          `running, pid ${status.pid}, version ${status.version}, up ${duration(status.uptimeSeconds)}`,
        ],
        ['home', status.home],
        ['socket', status.socket ?? '(stdio only)'],
        ['python', status.python],
        [
          'env mode',
          `${env.mode}${env.requestedMode === 'auto' ? ` (auto: ${env.container ? '' : 'not '}in a container)` : ''}`,
        ],
        ['installer', describeInstaller(env.installer)],
        ['envs', `${env.envs} in ${env.envsDir}${env.wheelhouse ? `, wheelhouse ${env.wheelhouse}` : ''}`],
        [
          'memory',
          status.memory.usedMB === null
            ? `not measured (${status.memory.warning ?? 'unknown'}), ${status.memory.maxMB} MB budget`
            : `${status.memory.usedMB} MB used by pods of ${status.memory.maxMB} MB budget`,
        ],
        ['pods', status.pods],
        ['recipes', status.recipes],
        ['clients', status.connections],
        ...status.zygotes.map((z): [string, string] => [
          'zygote',
          `${z.recipe}: pid ${z.pid}, ${z.memoryMB === null ? 'not measured' : `${z.memoryMB} MB`}`,
        ]),
        ...status.fatal.map((f): [string, string] => [
          'fatal',
          `${f.recipe}: ${f.crashes} crashes in a row, tried again in ${Math.ceil(f.retryInMs / 1000)} s` +
            (f.stderrTail.length > 0 ? `\n  ${f.stderrTail.slice(-5).join('\n  ')}` : ''),
        ]),
      ]);
    });
}

const UV_SOURCES = {
  option: 'the uv option / PODKEEPER_UV',
  PATH: 'PATH',
  home: "podkeeper's home",
  installed: "installed into podkeeper's home",
} as const;

function describeInstaller(installer: EnvironmentSummary['installer']): string {
  switch (installer.kind) {
    case 'uv':
      return `uv ${installer.version}, ${installer.path} (from ${UV_SOURCES[installer.source]})`;
    case 'pip':
      return `python -m venv + pip (${installer.reason})`;
    default:
      return `none (${installer.reason})`;
  }
}
