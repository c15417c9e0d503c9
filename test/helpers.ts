/**
 * Shared test plumbing: managers built on the fixture recipes, a cleanup list emptied after every
 * test, and a check that no process of ours (pods and their grandchildren, found by a marker in their
 * environment) is left alive.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { PodManager, type PodManagerOptions } from '../src/index.js';
import type { ManagerEvent } from '../src/manager/events.js';

export const FIXTURE_RECIPES = join(import.meta.dirname, 'fixtures', 'recipes');
/** Every process started by this test file carries this in its environment. */
export const RUN_MARKER = `podkeeper-test-${randomUUID()}`;

const cleanups: (() => unknown)[] = [];

export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

export function tempDir(prefix = 'podkeeper-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function createManager(options: PodManagerOptions = {}): PodManager {
  const manager = new PodManager({
    home: tempDir(),
    recipePath: [FIXTURE_RECIPES],
    stopGrace: 2,
    ...options,
    env: { PODKEEPER_TEST_RUN: RUN_MARKER, ...options.env },
  });
  onCleanup(() => manager.close());
  return manager;
}

/** Records the manager's events, for assertions on what happened and in which order. */
export function recordEvents(manager: PodManager): ManagerEvent[] {
  const seen: ManagerEvent[] = [];
  onCleanup(manager.events.on('event', (event) => seen.push(event)));
  return seen;
}

/** Pids of live processes whose environment carries this file's run marker (Linux /proc). */
export function ourProcesses(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (!environ.includes(RUN_MARKER)) continue;
      if (isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/** True while `pid` runs; a zombie (dead, not yet reaped by its new parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
export async function eventually(check: () => boolean, ms = 3000, step = 20): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, step));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  const left = await eventually(() => ourProcesses().length === 0, 3000).then(() => ourProcesses());
  for (const pid of left) process.kill(pid, 'SIGKILL');
  expect(left, 'processes left behind by the test').toEqual([]);
});
