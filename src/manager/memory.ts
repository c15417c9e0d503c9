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
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { forEachBounded } from '../bounded.js';
import { PodkeeperError } from '../errors.js';
import { type ProcessEntry, readPrivateBytes, readResidentBytes, scanProc, scanPs } from './process-table.js';

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
      await forEachBounded(roots, concurrency, async (pid) => {
        const bytes = await readResidentBytes(pid);
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
