/**
 * Where a daemon lives, as the daemon and its clients both find it: the home (`--home`, else
 * `PODKEEPER_HOME`, else the platform's data dir: XDG on Linux, Application Support on macOS) and
 * the socket (`--socket`, else `PODKEEPER_SOCKET`, else `socket` in `$home/config.json`, else
 * `$home/podkeeper.sock`).
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { trustProblem } from './home-checks.js';

/**
 * The platform's data dir for podkeeper: `~/Library/Application Support/podkeeper` on macOS,
 * `$XDG_DATA_HOME/podkeeper` (else `~/.local/share/podkeeper`) elsewhere. The Python client
 * (clients/python, `connection.py`) applies the same rule; a test holds the two together.
 */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'podkeeper');
  return join(env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share'), 'podkeeper');
}

/**
 * The one home of the library, the daemon and both clients: `flag` (`--home`, the `home` option),
 * else `PODKEEPER_HOME`, else the platform's data dir. An empty value counts as unset, never as
 * the current directory.
 */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag || env['PODKEEPER_HOME'] || defaultHome(env));
}

export function defaultSocketPath(home: string): string {
  return join(home, 'podkeeper.sock');
}

export function configFile(home: string): string {
  return join(home, 'config.json');
}

/** Home and socket as a client finds them. config.json is only peeked at for `socket` here. */
export function resolveLocation(
  flags: { home?: string; socket?: string },
  env: NodeJS.ProcessEnv = process.env,
): { home: string; socket: string } {
  const home = resolveHome(flags.home, env);
  if (flags.socket !== undefined) return { home, socket: resolve(flags.socket) };
  if (env['PODKEEPER_SOCKET']) return { home, socket: resolve(env['PODKEEPER_SOCKET']) };
  return { home, socket: socketFromConfig(home) ?? defaultSocketPath(home) };
}

/** The exact command that starts a daemon at this home and socket. */
export function daemonCommand(location: { home: string; socket: string }): string {
  const parts = ['podkeeper daemon'];
  if (location.home !== resolve(defaultHome())) parts.push(`--home ${quote(location.home)}`);
  if (
    location.socket !== defaultSocketPath(location.home) &&
    location.socket !== socketFromConfig(location.home)
  )
    parts.push(`--socket ${quote(location.socket)}`);
  return parts.join(' ');
}

function socketFromConfig(home: string): string | undefined {
  try {
    // A config.json someone else owns or may write is ignored: it could point clients at their socket.
    const stat = statSync(configFile(home));
    if (trustProblem(stat) !== undefined) return undefined;
    const raw = JSON.parse(readFileSync(configFile(home), 'utf8')) as { socket?: unknown };
    if (typeof raw.socket !== 'string' || raw.socket === '') return undefined;
    return isAbsolute(raw.socket) ? raw.socket : resolve(dirname(configFile(home)), raw.socket);
  } catch {
    return undefined;
  }
}

function quote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
