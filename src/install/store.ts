/**
 * Installed recipes on disk, under `$PODKEEPER_HOME`:
 *
 *   recipes/<name>            → a symbolic link to the current version's folder (what the catalog reads)
 *   recipes/.versions/<name>@<version>-<id>/   one folder per installed version
 *   recipes/.locks/<name>.lock                  one install or remove of a recipe at a time
 *   staging/<pid>-<id>/                         an install in progress (the download, the unpacked tree)
 *
 * An install renames its staged folder into `.versions/` (same file system: atomic), then swaps the
 * `recipes/<name>` link with a rename over it (atomic too), so a reader, or a process killed at any
 * point, sees the old version or the new one, never half of either. What a killed install leaves
 * behind (a staging folder, a version no link points at) is removed by `cleanup()` at the next start.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readlink, realpath, rename, rm, symlink, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import { tryLock } from '../process/lock.js';

export class RecipeStore {
  readonly recipesDir: string;
  readonly versionsDir: string;
  readonly locksDir: string;
  readonly stagingDir: string;
  readonly #log: Logger | undefined;

  constructor(home: string, logger?: Logger) {
    this.recipesDir = join(home, 'recipes');
    this.versionsDir = join(this.recipesDir, '.versions');
    this.locksDir = join(this.recipesDir, '.locks');
    this.stagingDir = join(home, 'staging');
    this.#log = logger;
  }

  lockPath(name: string): string {
    return join(this.locksDir, `${name}.lock`);
  }

  /** A fresh, private staging folder for one install. */
  async stage(): Promise<string> {
    await mkdir(this.stagingDir, { recursive: true, mode: 0o700 });
    const dir = join(this.stagingDir, `${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** The folder of the installed version of `name`, or undefined when it is not installed. */
  async current(name: string): Promise<string | undefined> {
    const link = join(this.recipesDir, name);
    try {
      return await realpath(link);
    } catch {
      return undefined;
    }
  }

  /**
   * Moves the staged recipe folder into `.versions/` and points `recipes/<name>` at it. Answers the
   * new version's folder and the one it replaced (the caller removes that once its pods are stopped).
   */
  async activate(name: string, version: string, staged: string): Promise<{ dir: string; previous?: string }> {
    await mkdir(this.versionsDir, { recursive: true });
    const id = randomBytes(4).toString('hex');
    const dir = join(this.versionsDir, `${name}@${version.replace(/[^A-Za-z0-9.+_-]/g, '_')}-${id}`);
    await rename(staged, dir);
    const link = join(this.recipesDir, name);
    const previous = await this.current(name);
    // A real folder there (copied in by hand) cannot be replaced by a rename: keep it as a version.
    const stats = await lstat(link).catch(() => undefined);
    let kept: string | undefined;
    if (stats?.isDirectory()) {
      kept = join(this.versionsDir, `${name}@manual-${id}`);
      await rename(link, kept);
    }
    const temporary = join(this.recipesDir, `.${name}.${id}.link`);
    await symlink(relative(this.recipesDir, dir), temporary);
    await rename(temporary, link);
    return { dir, previous: kept ?? previous };
  }

  /** Removes the `recipes/<name>` link (atomic); answers the version folder it pointed at. */
  async deactivate(name: string): Promise<string | undefined> {
    const previous = await this.current(name);
    const link = join(this.recipesDir, name);
    const stats = await lstat(link).catch(() => undefined);
    if (!stats) return undefined;
    if (stats.isSymbolicLink()) await unlink(link);
    else await rm(link, { recursive: true, force: true });
    return previous;
  }

  async discard(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }

  /**
   * Removes what killed installs left: staging folders of processes that are gone, versions no link
   * points at (unless an install of that recipe holds its lock right now), stray temporary links.
   */
  async cleanup(): Promise<string[]> {
    const removed: string[] = [];
    for (const entry of await list(this.stagingDir)) {
      const pid = Number(entry.split('-')[0]);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) continue;
      if (pid === process.pid) continue;
      await this.discard(join(this.stagingDir, entry));
      removed.push(join(this.stagingDir, entry));
    }
    const linked = new Set<string>();
    for (const entry of await list(this.recipesDir)) {
      const path = join(this.recipesDir, entry);
      if (entry.startsWith('.') && entry.endsWith('.link')) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      const target = await readlink(path).catch(() => undefined);
      if (target !== undefined) linked.add(await realpath(path).catch(() => join(this.recipesDir, target)));
    }
    for (const entry of await list(this.versionsDir)) {
      const dir = join(this.versionsDir, entry);
      if (linked.has(dir) || linked.has(await realpath(dir).catch(() => dir))) continue;
      const name = entry.slice(0, entry.indexOf('@'));
      const lock = await tryLock(this.lockPath(name)).catch(() => undefined);
      if (!lock) continue;
      try {
        await this.discard(dir);
        removed.push(dir);
      } finally {
        await lock.release();
      }
    }
    if (removed.length > 0) this.#log?.info({ removed }, 'removed what interrupted installs left behind');
    return removed;
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
