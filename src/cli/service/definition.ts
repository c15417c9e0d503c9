/**
 * The service definitions `podkeeper service install` writes: a systemd user unit (Linux) and a
 * launchd agent (macOS). Both run `node bin/podkeeper.js daemon --home HOME` with absolute paths
 * (a service manager has no PATH of the user's shell), restart it when it fails but not after a
 * clean `podkeeper shutdown`, and give it the PATH of the install so it finds python3 and uv.
 */
import { isAbsolute, join } from 'node:path';

export type ServicePlatform = 'linux' | 'darwin';

export interface ServiceSpec {
  /** Absolute path of the Node executable. */
  node: string;
  /** Absolute path of bin/podkeeper.js. */
  bin: string;
  home: string;
  /** PATH the daemon gets (pods find python3 and uv on it). */
  path: string;
}

/** The launchd label, also the plist's file name. */
export const LAUNCHD_LABEL = 'dev.podkeeper.daemon';
export const SYSTEMD_UNIT = 'podkeeper.service';

/** Where the definition goes for this user. */
/** The install's PATH without relative or empty entries: the service's working directory is not the shell's. */
export function servicePath(path: string): string {
  return path.split(':').filter(isAbsolute).join(':');
}

export function definitionPath(platform: ServicePlatform, env: NodeJS.ProcessEnv, home: string): string {
  if (platform === 'darwin') return join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  const config = env['XDG_CONFIG_HOME'] || join(home, '.config');
  return join(config, 'systemd', 'user', SYSTEMD_UNIT);
}

export function renderDefinition(platform: ServicePlatform, spec: ServiceSpec): string {
  return platform === 'darwin' ? launchdPlist(spec) : systemdUnit(spec);
}

function systemdUnit(spec: ServiceSpec): string {
  return [
    '# Written by `podkeeper service install`; `podkeeper service uninstall` removes it.',
    '[Unit]',
    'Description=podkeeper: supervises Python worker pods',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${[spec.node, spec.bin].map(execWord).join(' ')} daemon --home ${execWord(spec.home)}`,
    `Environment=${systemdQuote(`PATH=${spec.path}`)}`,
    // `podkeeper shutdown` exits 0 and stays down; a crash restarts.
    'Restart=on-failure',
    'RestartSec=2',
    // SIGTERM to the daemon alone: it stops its pods in order. What is left after the timeout is killed.
    'KillMode=mixed',
    'TimeoutStopSec=30',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/** An ExecStart word: systemd also expands `$VAR` and `${VAR}` there, so `$` is doubled too. */
function execWord(value: string): string {
  return systemdQuote(value.replaceAll('$', '$$$$'));
}

/** The home an ExecStart written by {@link systemdUnit} or a plist by {@link launchdPlist} runs. */
export function homeInDefinition(platform: ServicePlatform, text: string): string | undefined {
  if (platform === 'darwin') {
    const found = /<string>--home<\/string>\s*<string>([^<]*)<\/string>/.exec(text)?.[1];
    return found === undefined ? undefined : unXml(found);
  }
  const word = /^ExecStart=.* daemon --home (.+)$/m.exec(text)?.[1];
  if (word === undefined) return undefined;
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(word)?.[1];
  const unquoted = quoted === undefined ? word : quoted.replace(/\\(.)/g, '$1');
  return unquoted.replace(/%%|\$\$/g, (pair) => pair.charAt(0));
}

/** systemd's quoting: double quotes, with backslash escapes; `%` (a specifier) doubled. */
function systemdQuote(value: string): string {
  const escaped = value.replaceAll('%', '%%');
  if (/^[\w/.:=+,@-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function launchdPlist(spec: ServiceSpec): string {
  const string = (value: string) => `<string>${xml(value)}</string>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  ${string(LAUNCHD_LABEL)}`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...[spec.node, spec.bin, 'daemon', '--home', spec.home].map((arg) => `    ${string(arg)}`),
    '  </array>',
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    '    <key>PATH</key>',
    `    ${string(spec.path)}`,
    '  </dict>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    // Restart after a crash, not after `podkeeper shutdown` (exit 0).
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>StandardErrorPath</key>',
    `  ${string(join(spec.home, 'logs', 'launchd.log'))}`,
    '  <key>StandardOutPath</key>',
    `  ${string(join(spec.home, 'logs', 'launchd.log'))}`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

function xml(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function unXml(value: string): string {
  return value.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}
