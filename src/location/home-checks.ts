/**
 * Trust checks for the daemon's home and the files podkeeper reads from it. Whoever can write the
 * home can plant a config.json (its `python` runs as the daemon's user) or a recipe, so a home must
 * be the daemon user's own and writable by nobody else. The check is on the real directory (links
 * resolved: a symlinked home, or macOS's /tmp, is judged by its target), and podkeeper never
 * chmods a directory it did not create: it refuses, saying what to run.
 */
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { PodkeeperError } from '../errors.js';

/** Creates the home (0700) when it is missing; `loadDaemonConfig` judges it before reading it. */
export function createHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
}

/**
 * The trust rule, for every directory and file podkeeper reads from or binds in: it belongs to the
 * daemon's user and nobody else may write it. Readable by others is allowed (a plain `mkdir`, 0755):
 * the 0600 socket guards connections and logs/ is 0700. Returns what is wrong, or undefined.
 */
export function trustProblem(stat: { uid: number; mode: number }): 'owner' | 'writable' | undefined {
  const me = process.geteuid?.();
  if (me !== undefined && stat.uid !== me) return 'owner';
  return (stat.mode & 0o022) !== 0 ? 'writable' : undefined;
}

/**
 * Refuses a directory that is not ours or that others may write (`field` names the setting). Returns
 * the real path.
 */
export function checkTrustedDir(dir: string, field: string): string {
  const real = realpathSync(dir);
  const stat = statSync(real);
  const shown = real === dir ? dir : `${dir} (really ${real})`;
  const details = { field, dir, realPath: real, mode: modeOf(stat.mode) };
  if (!stat.isDirectory()) {
    throw new PodkeeperError('INVALID_OPTION', `The ${field} ${shown} is not a directory.`, { details });
  }
  const problem = trustProblem(stat);
  if (problem === 'owner') {
    throw notOwned(
      `The ${field} ${shown}`,
      stat.uid,
      'Use a directory of your own with --home or PODKEEPER_HOME.',
      {
        ...details,
        uid: stat.uid,
      },
    );
  }
  if (problem === 'writable') {
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
  const problem = trustProblem(stat);
  if (problem === 'owner') throw notOwned(file, stat.uid, 'Remove it, or write your own.', details);
  if (problem === 'writable') {
    throw new PodkeeperError(
      'INVALID_OPTION',
      `${file} is writable by others (mode ${modeOf(stat.mode)}); podkeeper will not obey a configuration ` +
        `someone else could have written. Check its content, then \`chmod 600 ${file}\`.`,
      { details },
    );
  }
}

/** The error for something `trustProblem` found not ours; `what` starts the sentence. */
export function notOwned(
  what: string,
  uid: number,
  fix: string,
  details: Record<string, unknown>,
): PodkeeperError {
  return new PodkeeperError(
    'INVALID_OPTION',
    `${what} belongs to uid ${uid}, not to you (uid ${process.geteuid?.()}); podkeeper only trusts what its own user owns. ${fix}`,
    { details },
  );
}

export function modeOf(mode: number): string {
  return (mode & 0o7777).toString(8);
}
