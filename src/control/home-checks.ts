/**
 * Trust checks for the daemon's home and the files podkeeper reads from it. Whoever can write the
 * home can plant a config.json (its `python` runs as the daemon's user) or a recipe, so a home must
 * be the daemon user's own and writable by nobody else. The check is on the real directory (links
 * resolved: a symlinked home, or macOS's /tmp, is judged by its target), and podkeeper never
 * chmods a directory it did not create: it refuses, saying what to run.
 */
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { PodkeeperError } from '../errors.js';

/** Creates the home (0700) when it is missing; refuses one that is not private enough. */
export function prepareHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  checkTrustedDir(home, 'home');
}

/**
 * Refuses a directory that is not ours or that others may write (`field` names the setting). Returns
 * the real path. Does not require 0700: the socket's directory has its own, stricter check.
 */
export function checkTrustedDir(dir: string, field: string): string {
  const real = realpathSync(dir);
  const stat = statSync(real);
  const shown = real === dir ? dir : `${dir} (really ${real})`;
  const details = { field, dir, realPath: real, mode: modeOf(stat.mode) };
  if (!stat.isDirectory()) {
    throw new PodkeeperError('INVALID_OPTION', `The ${field} ${shown} is not a directory.`, { details });
  }
  checkOwner(
    stat.uid,
    `The ${field} ${shown}`,
    'Use a directory of your own with --home or PODKEEPER_HOME.',
    {
      ...details,
      uid: stat.uid,
    },
  );
  if ((stat.mode & 0o022) !== 0) {
    throw new PodkeeperError(
      'INVALID_OPTION',
      `The ${field} ${shown} is writable by others (mode ${modeOf(stat.mode)}): anyone could plant a ` +
        "config.json or a recipe there that podkeeper would run as you. podkeeper does not change a directory's " +
        `mode for you: use a private directory (\`mkdir -m 700 DIR\` and --home DIR), or, if ${real} is yours ` +
        `alone, \`chmod 700 ${real}\`.`,
      { details },
    );
  }
  return real;
}

/** Refuses a file (config.json) that is not ours or that others may write, before it is read. */
export function checkTrustedFile(file: string, stat: { uid: number; mode: number }): void {
  const details = { source: file, uid: stat.uid, mode: modeOf(stat.mode) };
  checkOwner(stat.uid, file, 'Remove it, or write your own.', details);
  if ((stat.mode & 0o022) !== 0) {
    throw new PodkeeperError(
      'INVALID_OPTION',
      `${file} is writable by others (mode ${modeOf(stat.mode)}); podkeeper will not obey a configuration ` +
        `someone else could have written. Check its content, then \`chmod 600 ${file}\`.`,
      { details },
    );
  }
}

function checkOwner(uid: number, what: string, fix: string, details: Record<string, unknown>): void {
  const me = process.geteuid?.();
  if (me === undefined || uid === me) return;
  throw new PodkeeperError(
    'INVALID_OPTION',
    `${what} belongs to uid ${uid}, not to you (uid ${me}); podkeeper only trusts what its own user owns. ${fix}`,
    { details },
  );
}

function modeOf(mode: number): string {
  return (mode & 0o7777).toString(8);
}
