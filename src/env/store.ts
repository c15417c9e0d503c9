/**
 * The layout of `$PODKEEPER_HOME/envs/`:
 *
 *   <hash>/                      a finished env (its fingerprint, podkeeper-env.json, written last)
 *   .tmp-<hash>-<random>/        a build in progress; renamed to <hash>/ when it succeeds
 *   .trash-<hash>-<random>/      an env being deleted (renamed away first, so <hash>/ is never half gone)
 *   .locks/<hash>.lock/          the build lock of <hash> (proper-lockfile)
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachBounded } from '../bounded.js';

const HASH = /^[0-9a-f]{16}$/;
const LEFTOVER = /^\.(tmp|trash)-([0-9a-f]{16})-/;

export class EnvStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dir(hash: string): string {
    return join(this.root, hash);
  }

  lock(name: string): string {
    return join(this.root, '.locks', `${name}.lock`);
  }

  /** A fresh build folder for `hash`, next to its final place (same filesystem: rename is atomic). */
  temp(hash: string): string {
    return join(this.root, `.tmp-${hash}-${randomBytes(4).toString('hex')}`);
  }

  /** Removes a folder: renamed out of the way first, then deleted. */
  async discard(path: string, hash: string): Promise<void> {
    const trash = join(this.root, `.trash-${hash}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(path, trash);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await rm(trash, { recursive: true, force: true, maxRetries: 3 });
  }

  /** Hashes of the finished (or broken) env folders present. */
  async hashes(): Promise<string[]> {
    return (await this.#entries()).filter((name) => HASH.test(name)).sort();
  }

  /** Build and trash folders left behind (by a killed build) for `hash`, or for every hash. */
  async leftovers(hash?: string): Promise<{ path: string; hash: string }[]> {
    return (await this.#entries()).flatMap((name) => {
      const match = LEFTOVER.exec(name);
      if (!match?.[2] || (hash !== undefined && match[2] !== hash)) return [];
      return [{ path: join(this.root, name), hash: match[2] }];
    });
  }

  async #entries(): Promise<string[]> {
    return readdir(this.root).catch(() => [] as string[]);
  }
}

/** Files of /proc open at once while looking for envs in use (as the memory sampler's walk). */
const PROC_CONCURRENCY = 8;

/**
 * Hashes of the envs some process on this machine runs from (argv[0] inside the env, or VIRTUAL_ENV
 * pointing at it), read from /proc: the pods of every daemon sharing this home, not only ours.
 * Empty where there is no /proc. The files are read a few at a time, and a file that cannot be
 * opened for want of descriptors rejects: a process left unread would let its env be deleted.
 */
export async function envsInUseByProcesses(root: string): Promise<Set<string>> {
  const used = new Set<string>();
  const prefix = `${root}/`;
  const note = (path: string | undefined) => {
    if (!path?.startsWith(prefix)) return;
    const hash = path.slice(prefix.length).split('/')[0] ?? '';
    if (HASH.test(hash)) used.add(hash);
  };
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((entry) => /^\d+$/.test(entry));
  await forEachBounded(pids, PROC_CONCURRENCY, async (pid) => {
    note((await readProcFile(pid, 'cmdline')).split('\0')[0]);
    const environ = await readProcFile(pid, 'environ');
    const virtualEnv = environ.split('\0').find((entry) => entry.startsWith('VIRTUAL_ENV='));
    note(`${virtualEnv?.slice(12) ?? ''}/`);
  });
  return used;
}

/** '' for a process that exited mid-walk or is not ours to read; other errors (EMFILE) reject. */
async function readProcFile(pid: string, name: 'cmdline' | 'environ'): Promise<string> {
  try {
    return await readFile(`/proc/${pid}/${name}`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES' || code === 'EPERM') return '';
    throw error;
  }
}
