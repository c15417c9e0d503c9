/**
 * Measured memory of pods: the resident set size of a whole process tree (DESIGN §3, memory budget).
 *
 * A pod's tree is its root pid, every descendant by parent pid (transitively), and every process in the
 * root's process group: pods are group leaders, and a grandchild whose parent died is reparented to
 * init but keeps its group. One scan of the process table serves every root asked for at once:
 * `/proc/<pid>/stat` on Linux, one `ps` elsewhere (or when forced).
 */
import { open, readdir } from 'node:fs/promises';
import os from 'node:os';
import { execa } from 'execa';

/** Samples the RSS of process trees. */
export interface ProcessMemorySampler {
  /** RSS in bytes of the tree rooted at `rootPid`; `undefined` when the root is gone. */
  rssOfTree(rootPid: number): Promise<number | undefined>;
  /** RSS in bytes of each tree, from one scan; roots that are gone have no entry. */
  rssOfTrees(rootPids: readonly number[]): Promise<Map<number, number>>;
}

/** Options of {@link createMemorySampler}. */
export interface MemorySamplerOptions {
  /** Platform whose process table is read: `/proc` on `linux`, `ps` elsewhere. @default process.platform */
  platform?: NodeJS.Platform;
  /** Use `ps` even on Linux. @default false */
  forcePs?: boolean;
}

interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** Bytes. */
  rss: number;
}

/**
 * Creates a sampler. Each call scans the process table once, whatever the number of roots (never a
 * scan shared with an earlier call: a pod spawned since would be missing). A call rejects only when the
 * table cannot be read at all (no `/proc`, no `ps`); processes that vanish mid-scan are skipped.
 */
export function createMemorySampler(options: MemorySamplerOptions = {}): ProcessMemorySampler {
  const { platform = process.platform, forcePs = false } = options;
  const linux = platform === 'linux' && !forcePs;
  const scan = linux ? scanProc : scanPs;
  const rssOfTrees = async (rootPids: readonly number[]): Promise<Map<number, number>> => {
    const table = await scan();
    if (linux) await countPrivatePagesOfRoots(table, rootPids);
    return sumTrees(table, rootPids);
  };
  return {
    rssOfTrees,
    rssOfTree: async (rootPid) => (await rssOfTrees([rootPid])).get(rootPid),
  };
}

/** The machine's memory in MB, or the container's (cgroup) limit when that is lower. */
export function totalMemoryMB(): number {
  const total = os.totalmem();
  const constrained = process.constrainedMemory();
  const bytes = constrained > 0 && constrained < total ? constrained : total;
  return Math.floor(bytes / (1024 * 1024));
}

function sumTrees(table: ProcessEntry[], rootPids: readonly number[]): Map<number, number> {
  const byPid = new Map<number, ProcessEntry>();
  const children = new Map<number, number[]>();
  const groups = new Map<number, number[]>();
  for (const entry of table) {
    byPid.set(entry.pid, entry);
    append(children, entry.ppid, entry.pid);
    append(groups, entry.pgid, entry.pid);
  }
  const sums = new Map<number, number>();
  for (const root of rootPids) {
    // pid 0 and 1 would be the whole machine: never a pod's tree
    if (!Number.isSafeInteger(root) || root <= 1 || !byPid.has(root) || sums.has(root)) continue;
    const seen = new Set<number>();
    const stack = [root, ...(groups.get(root) ?? [])];
    let rss = 0;
    for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      rss += byPid.get(pid)?.rss ?? 0;
      stack.push(...(children.get(pid) ?? []));
    }
    sums.set(root, rss);
  }
  return sums;
}

function append(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

// ---------------------------------------------------------------- Linux: /proc

/** Enough for the fields we use (field 24 ends well before 1 KB; comm is at most 64 bytes). */
const STAT_BUFFER_SIZE = 1024;
let pageSize: Promise<number> | undefined;

/** The kernel's page size, asked once; 4096 when `getconf` is unavailable. */
function getPageSize(): Promise<number> {
  pageSize ??= execa('getconf', ['PAGESIZE']).then(
    ({ stdout }) => {
      const size = Number.parseInt(stdout, 10);
      return Number.isSafeInteger(size) && size > 0 ? size : 4096;
    },
    () => 4096,
  );
  return pageSize;
}

async function scanProc(): Promise<ProcessEntry[]> {
  const [names, page] = await Promise.all([readdir('/proc'), getPageSize()]);
  const entries = await Promise.all(
    names.filter((name) => /^\d+$/.test(name)).map((pid) => readStat(pid, page)),
  );
  return entries.filter((entry) => entry !== undefined);
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
  } catch {
    return undefined; // exited mid-scan
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
async function countPrivatePagesOfRoots(table: ProcessEntry[], rootPids: readonly number[]): Promise<void> {
  const roots = new Set(rootPids);
  await Promise.all(
    table
      .filter((entry) => roots.has(entry.pid))
      .map(async (entry) => {
        const privateBytes = await readPrivateBytes(entry.pid);
        if (privateBytes !== undefined) entry.rss = privateBytes;
      }),
  );
}

async function readPrivateBytes(pid: number): Promise<number | undefined> {
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

async function scanPs(): Promise<ProcessEntry[]> {
  const { stdout } = await execa('ps', ['-A', '-o', 'pid=,ppid=,pgid=,rss=']);
  const entries: ProcessEntry[] = [];
  for (const line of stdout.split('\n')) {
    const fields = line.trim().split(/\s+/).map(Number);
    if (fields.length !== 4 || fields.some(Number.isNaN)) continue;
    const [pid, ppid, pgid, rssKiB] = fields as [number, number, number, number];
    entries.push({ pid, ppid, pgid, rss: rssKiB * 1024 });
  }
  return entries;
}
