/**
 * Which processes are alive, for the leak checks: read from /proc on Linux, from `ps` where there
 * is no /proc (macOS), so the suite runs on both.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const HAS_PROC = existsSync('/proc/self/stat');

/** Pids of live processes whose environment contains `marker`. */
export function processesWithEnv(marker: string): number[] {
  return HAS_PROC ? procScan(marker) : psScan(marker);
}

/**
 * True while `pid` runs; a zombie (dead, not yet reaped by its new parent) counts as gone. A pid that
 * is not a positive integer throws: it is a test that lost its pod (`list()` returned nothing), and
 * must fail rather than ask about pid 0.
 */
export function isAlive(pid: number | null | undefined): boolean {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) {
    throw new Error(`isAlive() needs a pid, got ${pid}: the process was never found`);
  }
  return HAS_PROC ? procAlive(pid) : psAlive(pid);
}

/** The command line of `pid` (its arguments joined by spaces, as `ps` shows it); undefined once gone. */
export function commandLine(pid: number): string | undefined {
  try {
    if (HAS_PROC) return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trimEnd();
    return (
      execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined; // gone while we looked
  }
}

/** The mask of signals `pid` ignores (`ps -o sigignore`, on Linux and macOS alike). */
export function ignoredSignals(pid: number): bigint {
  const mask = execFileSync('ps', ['-o', 'sigignore=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  return BigInt(`0x${mask}`);
}

/** The `ps` readings used where there is no /proc; exported so they are tested on Linux too. */
export const viaPs = {
  processesWithEnv: (marker: string) => psScan(marker),
  isAlive: (pid: number) => psAlive(pid),
};

function procScan(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (environ.includes(marker) && procAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

function procAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** BSD-style `ps axeww`: every process, its state, and its command line followed by its environment. */
function psScan(marker: string): number[] {
  const out = execFileSync('ps', ['axeww', '-o', 'pid=,stat=,command='], { encoding: 'utf8' });
  const found: number[] = [];
  for (const line of out.split('\n')) {
    const match = /^\s*(\d+)\s+(\S+)\s(.*)$/.exec(line);
    if (match?.[3]?.includes(marker) && !match[2]?.startsWith('Z')) found.push(Number(match[1]));
  }
  return found.filter((pid) => pid !== process.pid);
}

function psAlive(pid: number): boolean {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false; // ps exits 1 when there is no such process
  }
}
