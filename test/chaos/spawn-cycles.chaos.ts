/**
 * 1,000 spawn/exit cycles of a pod through a real daemon: no zombie is left under the daemon or
 * a guardian, and the daemon's open fds and RSS stay within ±10% of what they were once warm.
 * Prints the figures (fds, RSS) at the start and the end.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from '../daemon-helpers.js';
import { ourProcesses } from '../helpers.js';

const CYCLES = Number(process.env['PODKEEPER_CHAOS_CYCLES'] ?? 1000);
const WARMUP = 50;
/** Every how many cycles the escaper runs instead of echo (0: never). */
const ESCAPER_EVERY = Number(process.env['PODKEEPER_CHAOS_ESCAPER_EVERY'] ?? 20);

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
}

/** Zombies among all processes: dead, not reaped by their parent. */
function zombies(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') found.push(Number(fields[1]));
    } catch {
      // gone
    }
  }
  return found; // parent pids of the zombies
}

describe('spawn/exit cycles', () => {
  it(`${CYCLES} spawn/exit cycles leave no zombie, and the daemon's fds and RSS stay within ±10%`, async () => {
    const daemon = await startDaemon({ env: { NODE_OPTIONS: process.env['PODKEEPER_CHAOS_NODE_OPTIONS'] } });
    const pid = daemon.child.pid ?? 0;
    const client = await rawConnect(daemon.socket);
    let id = 0;
    // Every 20th cycle runs the escaper (a subprocess tree, a multiprocessing worker, a setsid()
    // escapee); the others the echo pod.
    const cycle = async (n: number) => {
      const target = ESCAPER_EVERY > 0 && n % ESCAPER_EVERY === 0 ? 'escaper' : 'echo';
      client.send({ id: ++id, action: 'call', payload: { target, input: {} } });
      expect(await client.answer(id, 30_000)).toMatchObject({ success: true });
      client.send({ id: ++id, action: 'pods.stop', payload: { target } });
      expect(await client.answer(id, 30_000)).toMatchObject({ success: true });
      client.received.length = 0;
    };
    for (let i = 0; i < WARMUP; i++) await cycle(i);
    const start = { fds: openFds(pid), rss: rssKiB(pid) };
    const trace: string[] = [];
    for (let i = WARMUP; i < CYCLES; i++) {
      await cycle(i);
      if ((i + 1) % 100 === 0) trace.push(`${i + 1}: ${openFds(pid)} fds ${rssKiB(pid)} KiB`);
    }
    console.log(trace.join('\n'));
    const end = { fds: openFds(pid), rss: rssKiB(pid) };
    console.log(
      `after ${WARMUP} cycles: ${start.fds} fds, ${start.rss} KiB RSS; after ${CYCLES}: ${end.fds} fds, ${end.rss} KiB RSS`,
    );
    const ours = new Set([pid, ...ourProcesses()]);
    expect(zombies().filter((parent) => ours.has(parent))).toEqual([]);
    expect(ourProcesses()).toEqual([pid]);
    expect(Math.abs(end.fds - start.fds)).toBeLessThanOrEqual(Math.max(1, start.fds * 0.1));
    expect(Math.abs(end.rss - start.rss)).toBeLessThanOrEqual(start.rss * 0.1);
  });
});
