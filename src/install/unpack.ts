/**
 * Safe unpacking of a recipe archive (`.tar.gz`), and the same rules for a directory source.
 *
 *   inspect (read every header, nothing written) ─ refuse: absolute path, "..", a link leaving the
 *   │                                              folder, a device or FIFO, an odd entry type, more
 *   │                                              than maxBytes or maxEntries in all
 *   │  (both passes inflate through tar-feed.ts: every inflated byte counted against maxBytes,
 *   │   padding after the end of the archive too, and the event loop never blocked)
 *   └▶ extract (node-tar: strict, owners not kept, never through a symlink)
 *      └▶ every symlink resolved on disk must still be inside the folder
 *
 * Every refusal is `UNSAFE_ARCHIVE` naming the member.
 */
import { cp, lstat, mkdir, readdir, readlink, realpath } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { Parser, type ReadEntry, Unpack } from 'tar';
import { PodkeeperError } from '../errors.js';
import { formatBytes } from './download.js';
import { feedTar } from './tar-feed.js';

export interface UnpackLimits {
  /** Bytes of all members together, unpacked. */
  maxBytes: number;
  maxEntries: number;
}

/** Folders a directory source never brings along. */
const SKIPPED = new Set(['.git', '__pycache__', '.venv', 'node_modules', '.mypy_cache', '.ruff_cache']);

/** Checks every member of `file`, then unpacks it into `dest` (an empty folder). */
export async function unpackArchive(file: string, dest: string, limits: UnpackLimits): Promise<void> {
  await inspectArchive(file, limits);
  await mkdir(dest, { recursive: true });
  const unpack = new Unpack({ cwd: dest, strict: true, preserveOwner: false });
  await feedTar(file, unpack, limits.maxBytes).catch((error: unknown) => {
    throw refusal(file, error, 'it cannot be unpacked');
  });
  await checkLinksOnDisk(dest);
}

/**
 * Reads every header of `file` (nothing is written), inflating it as a stream with every byte
 * counted; throws `UNSAFE_ARCHIVE` at the first bad member or past the size bound.
 */
export async function inspectArchive(
  file: string,
  limits: UnpackLimits,
): Promise<{ entries: number; bytes: number }> {
  const parser = new Parser({ strict: true });
  const totals = { entries: 0, bytes: 0 };
  let refused: PodkeeperError | undefined;
  parser.on('entry', (entry: ReadEntry) => {
    try {
      checkMember(entry, totals, limits);
    } catch (error) {
      refused ??= error as PodkeeperError;
      parser.abort(refused);
    }
    entry.resume();
  });
  await feedTar(file, parser, limits.maxBytes).catch((error: unknown) => {
    throw refused ?? refusal(file, error, 'it is not a valid .tar.gz');
  });
  return totals;
}

/** A failure of node-tar or zlib as `UNSAFE_ARCHIVE`; a full disk as `INSTALL_FAILED`; ours as is. */
function refusal(file: string, error: unknown, why: string): PodkeeperError {
  if (error instanceof PodkeeperError) return error;
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new PodkeeperError('INSTALL_FAILED', `No space left to unpack ${file}: ${message}.`, {
      cause: error,
      details: { archive: file, errno: code },
    });
  }
  return unsafe(file, `${why} (${message})`, { archive: file });
}

function checkMember(
  entry: ReadEntry,
  totals: { entries: number; bytes: number },
  limits: UnpackLimits,
): void {
  const member = entry.path;
  const refuse = (why: string) => {
    throw unsafe(member, why, { member, type: entry.type, linkpath: entry.linkpath });
  };
  const path = checkPath(member, refuse);
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
    case 'Directory':
      break;
    case 'SymbolicLink':
      checkLinkTarget(posix.dirname(path), entry.linkpath ?? '', 'symbolic link', refuse);
      break;
    case 'Link':
      checkLinkTarget('.', entry.linkpath ?? '', 'hard link', refuse);
      break;
    case 'CharacterDevice':
    case 'BlockDevice':
      refuse('it is a device');
      break;
    case 'FIFO':
      refuse('it is a FIFO');
      break;
    default:
      refuse(`entries of type ${entry.type} are not allowed in a recipe`);
  }
  totals.entries += 1;
  totals.bytes += entry.size ?? 0;
  if (totals.entries > limits.maxEntries) refuse(`the archive has more than ${limits.maxEntries} members`);
  if (totals.bytes > limits.maxBytes)
    refuse(`the archive unpacks to more than ${formatBytes(limits.maxBytes)} (the recipe size bound)`);
}

/** The member path, normalized; refuses absolute paths and "..". */
function checkPath(member: string, refuse: (why: string) => never): string {
  if (member.includes('\0')) refuse('its path holds a NUL byte');
  if (/^([/\\]|[a-zA-Z]:)/.test(member)) refuse('it has an absolute path');
  if (member.split(/[/\\]+/).includes('..')) refuse('its path climbs out with ".."');
  return posix.normalize(member.replace(/\\/g, '/'));
}

/** A link target, lexically: it must stay inside the folder; `..` only as a leading climb. */
function checkLinkTarget(from: string, target: string, kind: string, refuse: (why: string) => never): void {
  if (target === '') refuse(`it is a ${kind} without a target`);
  if (/^([/\\]|[a-zA-Z]:)/.test(target)) refuse(`it is a ${kind} to an absolute path (${target})`);
  const parts = target.split(/[/\\]+/);
  const firstOther = parts.findIndex((part) => part !== '..');
  if (firstOther >= 0 && parts.slice(firstOther).includes('..'))
    refuse(`it is a ${kind} whose target (${target}) climbs with ".." after a name`);
  const resolved = posix.normalize(posix.join(from, target.replace(/\\/g, '/')));
  if (resolved === '..' || resolved.startsWith('../'))
    refuse(`it is a ${kind} leaving the recipe folder (${target})`);
}

/** After extraction: every symlink that resolves must resolve inside `root`. */
async function checkLinksOnDisk(root: string): Promise<void> {
  const realRoot = await realpath(root);
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = await realpath(path).catch(() => undefined);
        if (target !== undefined && target !== realRoot && !target.startsWith(realRoot + sep)) {
          const member = relative(root, path);
          throw unsafe(member, `it is a symbolic link leaving the recipe folder (${await readlink(path)})`, {
            member,
          });
        }
      } else if (entry.isDirectory()) {
        await walk(path);
      }
    }
  };
  await walk(root);
}

/**
 * Copies a recipe folder (a directory source) into `dest` under the same rules as an archive:
 * no devices, FIFOs or sockets, no link leaving the folder, the same size bound. `.git`,
 * `__pycache__`, `.venv` and `node_modules` stay behind.
 */
export async function copyRecipeDir(src: string, dest: string, limits: UnpackLimits): Promise<void> {
  const root = await realpath(src);
  const totals = { entries: 0, bytes: 0 };
  const check = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const path = join(dir, entry.name);
      const member = relative(root, path);
      const refuse = (why: string): never => {
        throw unsafe(member, why, { member });
      };
      const stats = await lstat(path);
      if (stats.isSymbolicLink()) {
        const target = await readlink(path);
        checkLinkTarget(posix.dirname(member.split(sep).join('/')), target, 'symbolic link', refuse);
        const real = await realpath(path).catch(() => undefined);
        if (real !== undefined && real !== root && !real.startsWith(root + sep))
          refuse(`it is a symbolic link leaving the recipe folder (${target})`);
      } else if (stats.isDirectory()) {
        await check(path);
      } else if (stats.isCharacterDevice() || stats.isBlockDevice()) {
        refuse('it is a device');
      } else if (stats.isFIFO() || stats.isSocket()) {
        refuse(stats.isFIFO() ? 'it is a FIFO' : 'it is a socket');
      }
      totals.entries += 1;
      totals.bytes += stats.isFile() ? stats.size : 0;
      if (totals.entries > limits.maxEntries) refuse(`the folder has more than ${limits.maxEntries} entries`);
      if (totals.bytes > limits.maxBytes)
        refuse(`the folder holds more than ${formatBytes(limits.maxBytes)} (the recipe size bound)`);
    }
  };
  await check(root);
  await cp(root, dest, {
    recursive: true,
    verbatimSymlinks: true,
    errorOnExist: true,
    filter: (from) => !SKIPPED.has(from.slice(from.lastIndexOf(sep) + 1)),
  });
}

function unsafe(member: string, why: string, details: Record<string, unknown>): PodkeeperError {
  return new PodkeeperError('UNSAFE_ARCHIVE', `Refused to unpack "${member}": ${why}.`, { details });
}
