import { type Command, Option } from 'commander';
import { printFacts, printJson } from '../output.js';
import type { ServicePlatform } from '../service/definition.js';
import { installService, serviceStatus, uninstallService } from '../service/manage.js';

interface ServiceFlags {
  home?: string;
  enable?: boolean;
  platform?: ServicePlatform;
  json?: boolean;
}

export function registerService(program: Command): void {
  const service = program
    .command('service')
    .description('run the daemon as a user service: systemd (Linux) or launchd (macOS)');
  const common = (command: Command) =>
    command
      .option(
        '--home <dir>',
        'the home the service daemon uses (env PODKEEPER_HOME); settings go in its config.json',
      )
      .addOption(
        new Option('--platform <name>', 'write the definition of this platform')
          .choices(['linux', 'darwin'])
          .hideHelp(),
      )
      .option('--json', 'machine-readable output');
  const platformOf = (flags: ServiceFlags): ServicePlatform =>
    flags.platform ?? (process.platform === 'darwin' ? 'darwin' : 'linux');

  common(service.command('install'))
    .description('write the unit (or agent), then enable and start it')
    .option('--no-enable', 'only write the file; do not ask systemctl / launchctl')
    .action(async (flags: ServiceFlags) => {
      const done = await installService({
        flags,
        platform: platformOf(flags),
        enable: flags.enable !== false,
      });
      if (flags.json) return printJson(done);
      process.stdout.write(`wrote ${done.file}\n`);
      for (const line of done.manager) process.stdout.write(`${line}\n`);
      if (done.manager.some((line) => line.includes(': failed')) || flags.enable === false)
        process.stdout.write(`not started; to start it: ${startHint(platformOf(flags), done.file)}\n`);
    });

  common(service.command('uninstall'))
    .description('stop and disable the service, then remove its file')
    .option('--no-enable', 'only remove the file; do not ask systemctl / launchctl')
    .action(async (flags: ServiceFlags) => {
      const done = await uninstallService({
        flags,
        platform: platformOf(flags),
        enable: flags.enable !== false,
      });
      if (flags.json) return printJson(done);
      process.stdout.write(done.removed ? `removed ${done.file}\n` : `not installed (no ${done.file})\n`);
      for (const line of done.manager) process.stdout.write(`${line}\n`);
    });

  common(service.command('status'))
    .description('installed or not; enabled and active as the service manager says; the daemon')
    .action(async (flags: ServiceFlags) => {
      const status = await serviceStatus({ flags, platform: platformOf(flags) });
      if (flags.json) return printJson(status);
      printFacts([
        ['service', status.installed ? `installed (${status.file})` : `not installed (no ${status.file})`],
        ['enabled', status.enabled],
        ['active', status.active],
        ['daemon', `${status.daemon} (home ${status.home})`],
      ]);
    });
}

function startHint(platform: ServicePlatform, file: string): string {
  return platform === 'linux'
    ? 'systemctl --user daemon-reload && systemctl --user enable --now podkeeper.service'
    : `launchctl bootstrap gui/$(id -u) ${file}`;
}
