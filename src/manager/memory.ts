/**
 * Measured memory of pods: the resident set size of a whole process tree
 * (docs/architecture.md#pod-lifecycle, memory budget).
 *
 * A pod's tree is its root pid, every descendant by parent pid (transitively), and every process in the
 * root's process group: pods are group leaders, and a grandchild whose parent died is reparented to
 * init but keeps its group. One scan of the process table serves every root asked for at once:
 * `/proc/<pid>/stat` on Linux, one `ps` elsewhere (or when forced).
 *
 * A scan is shared: one at a time, concurrent readers wait for the same one, and its table serves
 * later readers for `maxAgeMs` (unless a root they ask for is missing from it: a pod spawned since).
 * On Linux the stat files are read a few at a time, so a flood of `status` requests costs one walk
 * and a bounded number of file descriptors.
 */
import { execFile } from 'node:child_process';
import { open, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { forEachBounded } from '../bounded.js';
import { PodkeeperError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** Samples the RSS of process trees. */
export interface ProcessMemorySampler {
  /** RSS in bytes of the tree rooted at `rootPid`; `undefined` when the root is gone. */
  rssOfTree(rootPid: number): Promise<number | undefined>;
  /** RSS in bytes of each tree, from one scan; roots that are gone have no entry. */
  rssOfTrees(rootPids: readonly number[]): Promise<Map<number, number>>;
  /**
   * Private bytes (`Private_Clean` + `Private_Dirty`) of every process of each tree, for processes
   * forked from a zygote: their RSS is mostly the zygote's pages, shared. RSS where smaps cannot be read.
   */
  privateOfTrees(rootPids: readonly number[]): Promise<Map<number, number>>;
  /** Private bytes of each process alone. */
  privateOfProcesses(pids: readonly number[]): Promise<Map<number, number>>;
  /**
   * Resident bytes of each process alone, without its children: a zygote's pages, whether or not
   * the pods it forked (and its spare) share them; its private figure shrinks as they come.
   */
  residentOfProcesses(pids: readonly number[]): Promise<Map<number, number>>;
}

/** Options of {@link createMemorySampler}. */
export interface MemorySamplerOptions {
  /** Platform whose process table is read: `/proc` on `linux`, `ps` elsewhere. @default process.platform */
  platform?: NodeJS.Platform;
  /** Use `ps` even on Linux. @default false */
  forcePs?: boolean;
  /** How long a scan's table serves later readers, ms. @default 250 */
  maxAgeMs?: number;
  /** `/proc/<pid>/stat` files open at once. @default 8 */
  concurrency?: number;
}

interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** Bytes. */
  rss: number;
}

/** One scan of the process table: when it was asked for, and its table once read. */
interface Sample {
  startedAt: number;
  table: Promise<ProcessEntry[]>;
  pids?: Set<number>;
}

/**
 * Creates a sampler (see the module doc for how scans are shared). A call rejects only when the table
 * cannot be read at all (no `/proc`, no `ps`, no file descriptor left); processes that vanish
 * mid-scan are skipped.
 */
export function createMemorySampler(options: MemorySamplerOptions = {}): ProcessMemorySampler {
  const { platform = process.platform, forcePs = false, maxAgeMs = 250, concurrency = 8 } = options;
  const linux = platform === 'linux' && !forcePs;
  const read = linux ? () => scanProc(concurrency) : scanPs;
  const scan = () => read().catch(codeOutOfDescriptors);
  let latest: Sample | undefined;
  /** A new scan, after the one in flight (never two walks at once). */
  const rescan = (): Sample => {
    const previous = latest?.table.catch(() => undefined);
    const sample: Sample = { startedAt: performance.now(), table: Promise.resolve(previous).then(scan) };
    sample.table.then(
      (table) => {
        sample.pids = new Set(table.map((entry) => entry.pid));
      },
      () => {
        if (latest === sample) latest = undefined; // a failed scan serves nobody
      },
    );
    latest = sample;
    return sample;
  };
  const tableFor = async (rootPids: readonly number[]): Promise<ProcessEntry[]> => {
    const askedAt = performance.now();
    let sample = latest && latest.startedAt >= askedAt - maxAgeMs ? latest : rescan();
    for (;;) {
      const table = await sample.table;
      const complete = rootPids.every((pid) => !isRoot(pid) || sample.pids?.has(pid));
      if (complete || sample.startedAt >= askedAt) return table;
      sample = latest !== sample && latest !== undefined ? latest : rescan();
    }
  };
  // A process's private bytes are read once per maxAgeMs however many callers ask, like the walk: a
  // flood of `status` must not open one smaps_rollup per request and take every descriptor.
  let privateReads = { at: Number.NEGATIVE_INFINITY, byPid: new Map<number, Promise<number | undefined>>() };
  const privateBytesOf = async (rootPids: readonly number[]): Promise<Map<number, number>> => {
    const now = performance.now();
    if (privateReads.at < now - maxAgeMs) privateReads = { at: now, byPid: new Map() };
    const { byPid } = privateReads;
    const found = new Map<number, number>();
    await forEachBounded(rootPids.filter(isRoot), concurrency, async (pid) => {
      const read = byPid.get(pid) ?? readPrivateBytes(pid);
      byPid.set(pid, read);
      const privateBytes = await read;
      if (privateBytes !== undefined) found.set(pid, privateBytes);
    });
    return found;
  };
  const rssOfTrees = async (rootPids: readonly number[]): Promise<Map<number, number>> => {
    if (!rootPids.some(isRoot)) return new Map();
    const table = await tableFor(rootPids);
    return sumTrees(table, rootPids, linux ? await privateBytesOf(rootPids) : new Map());
  };
  const privateOfTrees = async (rootPids: readonly number[]): Promise<Map<number, number>> => {
    if (!rootPids.some(isRoot)) return new Map();
    const table = await tableFor(rootPids);
    const members = treeMembers(table, rootPids);
    const everyone = [...new Set([...members.values()].flat())];
    const privateBytes = linux ? await privateBytesOf(everyone) : new Map<number, number>();
    const rss = new Map(table.map((entry) => [entry.pid, entry.rss]));
    const sums = new Map<number, number>();
    for (const [root, pids] of members)
      sums.set(root, sum(pids.map((pid) => privateBytes.get(pid) ?? rss.get(pid) ?? 0)));
    return sums;
  };
  const privateOfProcesses = async (pids: readonly number[]): Promise<Map<number, number>> => {
    if (!pids.some(isRoot)) return new Map();
    if (linux) {
      // Each process's own smaps_rollup is the answer: no walk of /proc (it costs tens of ms on a
      // busy machine, and a zygote's new spare is measured this way on a forked pod's cold start).
      const privateBytes = await privateBytesOf(pids);
      if (pids.filter(isRoot).every((pid) => privateBytes.has(pid))) return privateBytes;
    }
    const table = await tableFor(pids);
    const privateBytes = linux ? await privateBytesOf(pids) : new Map<number, number>();
    const found = new Map<number, number>();
    for (const entry of table)
      if (pids.includes(entry.pid)) found.set(entry.pid, privateBytes.get(entry.pid) ?? entry.rss);
    return found;
  };
  const residentOfProcesses = async (pids: readonly number[]): Promise<Map<number, number>> => {
    const roots = pids.filter(isRoot);
    const found = new Map<number, number>();
    if (roots.length === 0) return found;
    if (linux) {
      const page = await getPageSize();
      await forEachBounded(roots, concurrency, async (pid) => {
        const bytes = await readResidentBytes(pid, page);
        if (bytes !== undefined) found.set(pid, bytes);
      });
      return found;
    }
    for (const entry of await tableFor(roots)) if (roots.includes(entry.pid)) found.set(entry.pid, entry.rss);
    return found;
  };
  return {
    rssOfTrees,
    privateOfTrees,
    privateOfProcesses,
    residentOfProcesses,
    rssOfTree: async (rootPid) => (await rssOfTrees([rootPid])).get(rootPid),
  };
}

/** A scan that ran out of file descriptors fails with `RESOURCE_EXHAUSTED` (and the fix); others as they are. */
function codeOutOfDescriptors(error: unknown): never {
  const errno = (error as NodeJS.ErrnoException).code;
  if (errno !== 'EMFILE' && errno !== 'ENFILE') throw error;
  throw new PodkeeperError(
    'RESOURCE_EXHAUSTED',
    `Could not measure the memory of pods: the daemon is out of file descriptors (${errno}). ` +
      'Raise `ulimit -n` for the daemon, or run fewer pods or connections at once.',
    { cause: error, details: { errno } },
  );
}

/** pid 0 and 1 would be the whole machine: never a pod's tree. */
function isRoot(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 1;
}

/** The machine's memory in MB, or the container's (cgroup) limit when that is lower. */
export function totalMemoryMB(): number {
  const total = os.totalmem();
  const constrained = process.constrainedMemory();
  const bytes = constrained > 0 && constrained < total ? constrained : total;
  return Math.floor(bytes / (1024 * 1024));
}

/** `rootRss`: what to count for a root instead of its RSS (its private bytes: see privateBytesOf). */
function sumTrees(
  table: ProcessEntry[],
  rootPids: readonly number[],
  rootRss: ReadonlyMap<number, number>,
): Map<number, number> {
  const rss = new Map(table.map((entry) => [entry.pid, entry.rss]));
  const sums = new Map<number, number>();
  for (const [root, pids] of treeMembers(table, rootPids)) {
    sums.set(
      root,
      sum(pids.map((pid) => (pid === root ? rootRss.get(pid) : undefined) ?? rss.get(pid) ?? 0)),
    );
  }
  return sums;
}

/** The pids of each root's tree (the root, its descendants, its group); roots that are gone have no entry. */
function treeMembers(table: ProcessEntry[], rootPids: readonly number[]): Map<number, number[]> {
  const known = new Set<number>();
  const children = new Map<number, number[]>();
  const groups = new Map<number, number[]>();
  for (const entry of table) {
    known.add(entry.pid);
    append(children, entry.ppid, entry.pid);
    append(groups, entry.pgid, entry.pid);
  }
  const members = new Map<number, number[]>();
  for (const root of rootPids) {
    if (!isRoot(root) || !known.has(root) || members.has(root)) continue;
    const seen = new Set<number>();
    const stack = [root, ...(groups.get(root) ?? [])];
    for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      stack.push(...(children.get(pid) ?? []));
    }
    members.set(root, [...seen]);
  }
  return members;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
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
async function scanProc(concurrency: number): Promise<ProcessEntry[]> {
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

/** Resident bytes of one process (`/proc/<pid>/statm`, field 2 in pages); undefined once it is gone. */
async function readResidentBytes(pid: number, page: number): Promise<number | undefined> {
  try {
    const pages = Number((await readFile(`/proc/${pid}/statm`, 'latin1')).split(' ')[1]);
    return Number.isNaN(pages) ? undefined : pages * page;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- elsewhere: ps

async function scanPs(): Promise<ProcessEntry[]> {
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
