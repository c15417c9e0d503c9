/**
 * `podkeeper service install|uninstall|status`: writes (or removes) the definition for this
 * platform's user service manager, then asks it to enable and start (or stop and disable) the
 * service; `status` says whether it is installed, and what systemctl / launchctl and the daemon say.
 * `--no-enable` only writes or removes the file (for a machine without a user session manager).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from '../../client/connect.js';
import { type DaemonFlags, loadDaemonConfig } from '../../daemon/config.js';
import { resolveHome, resolveLocation } from '../../location/home.js';
import { createHome } from '../../location/home-checks.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { runCommand } from '../../process/command.js';
import {
  definitionPath,
  homeInDefinition,
  LAUNCHD_LABEL,
  renderDefinition,
  type ServicePlatform,
  SYSTEMD_UNIT,
  servicePath,
} from './definition.js';

export interface ServiceOptions {
  flags: DaemonFlags;
  platform: ServicePlatform;
  /** Ask the service manager to enable/start (install) or stop/disable (uninstall). */
  enable: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ServiceStatus {
  platform: ServicePlatform;
  file: string;
  installed: boolean;
  /** What the service manager says (`enabled`, `disabled`…), or why it could not be asked. */
  enabled: string;
  active: string;
  daemon: 'running' | 'not running';
  home: string;
}

/** Writes the definition; returns its path and what the service manager said (if asked). */
export async function installService(options: ServiceOptions): Promise<{ file: string; manager: string[] }> {
  const env = options.env ?? process.env;
  const home = resolveHome(options.flags.home, env);
  createHome(home);
  loadDaemonConfig({ home }, env); // the home and its config.json must be ones the daemon accepts
  const file = definitionPath(options.platform, env, env['HOME'] || homedir());
  const text = renderDefinition(options.platform, {
    node: process.execPath,
    bin: join(PACKAGE_ROOT, 'bin', 'podkeeper.js'),
    home,
    path: servicePath(env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin'),
  });
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, text, { mode: 0o644 });
  renameSync(temp, file); // never a half-written unit
  if (!options.enable) return { file, manager: [] };
  const steps =
    options.platform === 'linux'
      ? [
          ['systemctl', '--user', 'daemon-reload'],
          ['systemctl', '--user', 'enable', '--now', SYSTEMD_UNIT],
        ]
      : [['launchctl', 'bootstrap', `gui/${process.getuid?.() ?? 0}`, file]];
  return { file, manager: await runSteps(steps, env) };
}

export async function uninstallService(
  options: ServiceOptions,
): Promise<{ file: string; removed: boolean; manager: string[] }> {
  const env = options.env ?? process.env;
  const file = definitionPath(options.platform, env, env['HOME'] || homedir());
  if (!existsSync(file)) return { file, removed: false, manager: [] };
  const steps =
    options.platform === 'linux'
      ? [['systemctl', '--user', 'disable', '--now', SYSTEMD_UNIT]]
      : [['launchctl', 'bootout', `gui/${process.getuid?.() ?? 0}/${LAUNCHD_LABEL}`]];
  const manager = options.enable ? await runSteps(steps, env) : [];
  rmSync(file, { force: true });
  if (options.enable && options.platform === 'linux')
    manager.push(...(await runSteps([['systemctl', '--user', 'daemon-reload']], env)));
  return { file, removed: true, manager };
}

export async function serviceStatus(options: Omit<ServiceOptions, 'enable'>): Promise<ServiceStatus> {
  const env = options.env ?? process.env;
  const file = definitionPath(options.platform, env, env['HOME'] || homedir());
  // The daemon asked about is the one the installed service runs, at the home written in it.
  const installedHome = existsSync(file)
    ? homeInDefinition(options.platform, readFileSync(file, 'utf8'))
    : undefined;
  const location = installedHome
    ? resolveLocation({ home: installedHome }, {})
    : resolveLocation(options.flags, env);
  let enabled: string;
  let active: string;
  if (options.platform === 'linux') {
    enabled = await ask(['systemctl', '--user', 'is-enabled', SYSTEMD_UNIT], env);
    active = await ask(['systemctl', '--user', 'is-active', SYSTEMD_UNIT], env);
  } else {
    ({ enabled, active } = await launchdState(env));
  }
  return {
    platform: options.platform,
    file,
    installed: existsSync(file),
    enabled,
    active,
    daemon: (await daemonAnswers(location)) ? 'running' : 'not running',
    home: location.home,
  };
}

async function launchdState(env: NodeJS.ProcessEnv): Promise<{ enabled: string; active: string }> {
  const target = `gui/${process.getuid?.() ?? 0}/${LAUNCHD_LABEL}`;
  const printed = await runCommand('launchctl', ['print', target], { env: { ...env }, timeoutMs: 10_000 });
  if (printed.spawnError) return { enabled: 'launchctl not available', active: 'launchctl not available' };
  if (printed.exitCode !== 0) return { enabled: 'not loaded', active: 'inactive' };
  return { enabled: 'loaded', active: /state = running/.test(printed.stdout) ? 'active' : 'inactive' };
}

async function runSteps(steps: string[][], env: NodeJS.ProcessEnv): Promise<string[]> {
  const said: string[] = [];
  for (const [command = '', ...args] of steps) {
    const result = await runCommand(command, args, { env: { ...env }, timeoutMs: 20_000 });
    const output = result.outputTail.join(' ').trim();
    if (result.exitCode === 0) said.push(`${command} ${args.join(' ')}: ok`);
    else {
      said.push(
        `${command} ${args.join(' ')}: failed (${result.spawnError ?? (output || `exit ${result.exitCode}`)})`,
      );
      break;
    }
  }
  return said;
}

/** One word from the service manager (`enabled`, `active`…), or why it did not answer. */
async function ask([command = '', ...args]: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runCommand(command, args, { env: { ...env }, timeoutMs: 10_000 });
  if (result.spawnError) return `${command} not available`;
  const first = result.outputTail.find((line) => line.trim() !== '')?.trim() ?? '';
  if (
    /^(enabled|disabled|static|masked|linked|active|inactive|failed|activating|deactivating|not-found)/.test(
      first,
    )
  )
    return first;
  return `${command} did not answer (${first || `exit ${result.exitCode}`})`;
}

async function daemonAnswers(location: { home: string; socket: string }): Promise<boolean> {
  try {
    const client = await connect({ ...location, timeout: 2 });
    await client.close();
    return true;
  } catch {
    return false;
  }
}
