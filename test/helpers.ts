/**
 * Shared test plumbing: managers built on the fixture recipes, a cleanup list emptied after every
 * test, and a check that no process of ours (pods and their grandchildren, found by a marker in their
 * environment) is left alive.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { PodManager, type PodManagerOptions } from '../src/index.js';
import type { ManagerEvent } from '../src/manager/events.js';
import { isAlive, processesWithEnv } from './processes.js';

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

/** Pids of live processes whose environment carries this file's run marker. */
export function ourProcesses(): number[] {
  return processesWithEnv(RUN_MARKER);
}

export { isAlive };

/** The pid of a pod `list()` returned; fails the test when there is none (`kill(0)` would signal our own group). */
export function pidOf(pod: { pid?: number | null | undefined } | undefined): number {
  expect(pod?.pid, 'a live pod with a pid').toBeGreaterThan(0);
  return pod?.pid as number;
}

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 3000,
  step = 20,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
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
