/**
 * Where the control socket lives and the checks made before binding it: the path fits in
 * `sun_path`, and its directory is ours and writable by nobody else, so no one can swap the socket
 * for their own. The socket itself is bound 0600 under a restrictive umask (connecting needs write
 * permission on it), so it is never reachable by anyone else, not even for an instant.
 */
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PodkeeperError } from '../errors.js';
import { modeOf, notOwned, trustProblem } from './home-checks.js';

/** `sun_path` size, terminating NUL included: 104 on macOS and the BSDs, 108 on Linux. */
const SUN_PATH_BYTES = process.platform === 'linux' ? 108 : 104;

/** Throws an actionable `INVALID_OPTION` when `path` is too long to bind or connect to. */
export function checkSocketPath(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes < SUN_PATH_BYTES) return;
  const runtime = process.env['XDG_RUNTIME_DIR'];
  const shorter = runtime
    ? join(runtime, 'podkeeper.sock')
    : `/tmp/podkeeper-${process.getuid?.() ?? 'user'}/podkeeper.sock`;
  throw new PodkeeperError(
    'INVALID_OPTION',
    `The socket path is ${bytes} bytes long, but a Unix socket path may have at most ${SUN_PATH_BYTES - 1} ` +
      `bytes on ${process.platform} (sun_path): ${path}. Choose a shorter one with --socket or ` +
      `PODKEEPER_SOCKET (for example ${shorter}), or a shorter --home.`,
    { details: { field: 'socket', socket: path, bytes, limit: SUN_PATH_BYTES - 1 } },
  );
}

/**
 * Makes sure the socket's directory exists, is ours and writable by nobody else (`trustProblem`). A
 * directory podkeeper creates is born 0700; an existing one is judged by its real path (links
 * resolved) and never chmod-ed: one that others may write is refused, saying how to fix it. One that
 * others may only read (a plain `mkdir`, 0755) is taken as it is: the 0600 socket inside is what
 * guards access.
 */
export function prepareSocketDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const real = realpathSync(dir);
  const stat = statSync(real);
  const shown = real === dir ? dir : `${dir} (really ${real})`;
  const details = { field: 'socket', dir, realPath: real, mode: modeOf(stat.mode) };
  const problem = trustProblem(stat);
  if (problem === 'owner') {
    throw notOwned(
      `The socket directory ${shown}`,
      stat.uid,
      'Choose a socket in a directory of your own with --socket.',
      details,
    );
  }
  if (problem === undefined) return;
  throw new PodkeeperError(
    'INVALID_OPTION',
    `The socket directory ${shown} is mode ${modeOf(stat.mode)}: others may write it, so they ` +
      `could replace the control socket with their own and see what you send. podkeeper does not change ` +
      `a directory's mode for you: run \`chmod 700 ${real}\` or choose a socket in a private directory with --socket.`,
    { details },
  );
}
