/**
 * Reading the operating system for memory.ts: the process table (pid, parent, group, RSS of every
 * process) from `/proc/<pid>/stat` on Linux or one `ps` elsewhere, and a process's private bytes
 * from `/proc/<pid>/smaps_rollup`. No sharing or caching here: memory.ts decides when to read.
 */
import { execFile } from 'node:child_process';
import { open, readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { forEachBounded } from '../bounded.js';

const execFileAsync = promisify(execFile);

export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** Bytes. */
  rss: number;
}

// ---------------------------------------------------------------- Linux: /proc

/** Enough for the fields we use (field 24 ends well before 1 KB; comm is at most 64 bytes). */
const STAT_BUFFER_SIZE = 1024;
let pageSize: Promise<number> | undefined;

/** The kernel's page size, asked once; 4096 when `getconf` is unavailable. */
function getPageSize(): Promise<number> {
  pageSize ??= execFileAsync('getconf', ['PAGESIZE']).then(
    ({ stdout }) => {
      const size = Number.parseInt(stdout, 10);
      return Number.isSafeInteger(size) && size > 0 ? size : 4096;
    },
    () => 4096,
  );
  return pageSize;
}

/** Reads every `/proc/<pid>/stat`, `concurrency` files at a time. */
export async function scanProc(concurrency: number): Promise<ProcessEntry[]> {
  const [names, page] = await Promise.all([readdir('/proc'), getPageSize()]);
  const pids = names.filter((name) => /^\d+$/.test(name));
  const entries: ProcessEntry[] = [];
  await forEachBounded(pids, concurrency, async (pid) => {
    const entry = await readStat(pid, page);
    if (entry) entries.push(entry);
  });
  return entries;
}

/**
 * Reads and parses `/proc/<pid>/stat` (one open and one read: `readFile` costs twice as much). The
 * command name (field 2) may hold spaces and parentheses, so fields are counted from the last `)`:
 * state (3), ppid (4), pgrp (5) ... rss in pages (24), the same counter as field 2 of `statm`.
 */
async function readStat(pid: string, page: number): Promise<ProcessEntry | undefined> {
  let text: string;
  try {
    const file = await open(`/proc/${pid}/stat`);
    try {
      const buffer = Buffer.allocUnsafe(STAT_BUFFER_SIZE);
      const { bytesRead } = await file.read(buffer, 0, STAT_BUFFER_SIZE, 0);
      text = buffer.toString('latin1', 0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined; // exited mid-scan
    throw error; // EMFILE and the like: a table with holes would read as 0 MB
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ', 22);
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  const rssPages = Number(fields[21]);
  if (Number.isNaN(ppid + pgid + rssPages)) return undefined;
  return { pid: Number(pid), ppid, pgid, rss: rssPages * page };
}

/**
 * A pod's root is its guardian, a fork of the same interpreter as the runner: most of its resident
 * pages are shared with the runner and counted there already. Count only its private pages
 * (`/proc/<pid>/smaps_rollup`, Linux >= 4.14); keep the RSS where that file cannot be read.
 */
export async function readPrivateBytes(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    const file = await open(`/proc/${pid}/smaps_rollup`);
    try {
      text = await file.readFile('latin1');
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
  let kib = 0;
  let found = false;
  for (const match of text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB$/gm)) {
    kib += Number(match[1]);
    found = true;
  }
  return found ? kib * 1024 : undefined;
}

// ---------------------------------------------------------------- elsewhere: ps

/** Resident bytes of one process (`/proc/<pid>/statm`, field 2 in pages); undefined once it is gone. */
export async function readResidentBytes(pid: number): Promise<number | undefined> {
  try {
    const [text, page] = await Promise.all([readFile(`/proc/${pid}/statm`, 'latin1'), getPageSize()]);
    const pages = Number(text.split(' ')[1]);
    return Number.isNaN(pages) ? undefined : pages * page;
  } catch {
    return undefined;
  }
}

export async function scanPs(): Promise<ProcessEntry[]> {
  const { stdout } = await execFileAsync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,rss='], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const entries: ProcessEntry[] = [];
  for (const line of stdout.split('\n')) {
    const fields = line.trim().split(/\s+/).map(Number);
    if (fields.length !== 4 || fields.some(Number.isNaN)) continue;
    const [pid, ppid, pgid, rssKiB] = fields as [number, number, number, number];
    entries.push({ pid, ppid, pgid, rss: rssKiB * 1024 });
  }
  return entries;
}
