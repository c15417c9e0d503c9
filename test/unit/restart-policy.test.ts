/** The restart policy's timing rules (pure logic): backoff, fatal, external kills, cool-down. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type EndedPod, RestartPolicy } from '../../src/manager/restart-policy.js';

const policy = () =>
  new RestartPolicy({
    backoffBaseMs: 500,
    backoffFactor: 2,
    backoffCapMs: 4000,
    unstableWindowMs: 10_000,
    maxUnstable: 3,
    fatalCooldownMs: 30_000,
    fatalCooldownCapMs: 90_000,
  });

const crashAtStart: EndedPod = {
  reason: 'crashed',
  uptimeMs: 200,
  signal: null,
  exitCode: 1,
  wasReady: false,
};
const killedWhenReady: EndedPod = {
  reason: 'crashed',
  uptimeMs: 200,
  signal: 'SIGKILL',
  exitCode: null,
  wasReady: true,
};

describe('RestartPolicy', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  const now = () => Date.now();

  it('backs off base × factorⁿ after crashes at start, and is fatal after maxUnstable', () => {
    const p = policy();
    expect(p.record(crashAtStart, now())).toBe('restartable');
    expect(p.delayMs(now())).toBe(500);
    vi.advanceTimersByTime(500);
    expect(p.record(crashAtStart, now())).toBe('restartable');
    expect(p.delayMs(now())).toBe(1000);
    expect(p.record(crashAtStart, now())).toBe('fatal');
    expect(p.fatalLeftMs(now())).toBe(30_000);
  });

  it('a ready pod killed from outside (SIGKILL, SIGTERM) restarts at once and never counts toward fatal', () => {
    const p = policy();
    // the runner answers a SIGTERM it did not expect with a clean exit
    expect(p.record({ ...killedWhenReady, signal: null, exitCode: 0 }, now())).toBe('restartable');
    for (let i = 0; i < 20; i++) {
      const signal = i % 2 === 0 ? 'SIGKILL' : 'SIGTERM';
      expect(p.record({ ...killedWhenReady, signal }, now())).toBe('restartable');
      expect(p.delayMs(now())).toBe(0);
    }
    expect(p.unstableCrashes).toBe(0);
  });

  it('a ready pod killed from outside clears earlier failures to start (it proved the recipe starts)', () => {
    const p = policy();
    p.record(crashAtStart, now());
    p.record(crashAtStart, now());
    expect(p.record(killedWhenReady, now())).toBe('restartable');
    expect(p.unstableCrashes).toBe(0);
    expect(p.record(crashAtStart, now())).toBe('restartable');
  });

  it('a kill from outside while loading counts only until a pod of the recipe has reached ready', () => {
    const p = policy();
    const killedLoading = { ...killedWhenReady, wasReady: false };
    expect(p.record(killedLoading, now())).toBe('restartable');
    expect(p.unstableCrashes).toBe(1);
    p.noteReady();
    for (let i = 0; i < 10; i++) expect(p.record(killedLoading, now())).toBe('restartable');
    expect(p.unstableCrashes).toBe(1);
    expect(p.delayMs(now())).toBe(500);
    expect(p.record(crashAtStart, now())).toBe('restartable'); // its own failure still counts
    expect(p.record(crashAtStart, now())).toBe('fatal');
  });

  it('a process that could not be spawned waits the first backoff and never counts toward fatal', () => {
    const p = policy();
    for (let i = 0; i < 10; i++) {
      expect(p.record({ ...crashAtStart, exitCode: null, spawnFailed: true }, now())).toBe('restartable');
    }
    expect(p.unstableCrashes).toBe(0);
    expect(p.delayMs(now())).toBe(500);
  });

  it('counts a kill before ready, and a ready pod dying of its own fault (exit code, SIGSEGV)', () => {
    const p = policy();
    expect(p.record({ ...killedWhenReady, wasReady: false }, now())).toBe('restartable');
    expect(p.record({ ...killedWhenReady, signal: 'SIGSEGV' }, now())).toBe('restartable');
    expect(p.record({ ...killedWhenReady, signal: null, exitCode: 7 }, now())).toBe('fatal');
  });

  it('fatal lasts its cool-down, then allows one try; each fatal in a row doubles it up to the cap', () => {
    const p = policy();
    for (let i = 0; i < 3; i++) p.record(crashAtStart, now());
    expect(p.endCooldown(now())).toBe(false);
    vi.advanceTimersByTime(29_999);
    expect(p.endCooldown(now())).toBe(false);
    vi.advanceTimersByTime(1);
    expect(p.endCooldown(now())).toBe(true);
    expect(p.delayMs(now())).toBe(0);
    // one more crash at start: fatal again, for twice as long, then capped
    expect(p.record(crashAtStart, now())).toBe('fatal');
    expect(p.fatalLeftMs(now())).toBe(60_000);
    vi.advanceTimersByTime(60_000);
    expect(p.endCooldown(now())).toBe(true);
    expect(p.record(crashAtStart, now())).toBe('fatal');
    expect(p.fatalLeftMs(now())).toBe(90_000);
  });

  it('a stable run or an explicit start forgives the crashes and the cool-down', () => {
    const p = policy();
    for (let i = 0; i < 3; i++) p.record(crashAtStart, now());
    p.reset();
    expect(p.fatalLeftMs(now())).toBe(0);
    expect(p.record(crashAtStart, now())).toBe('restartable');
    expect(p.record({ ...crashAtStart, uptimeMs: 10_000 }, now())).toBe('restartable');
    expect(p.unstableCrashes).toBe(0);
  });
});

describe("RestartPolicy and a remote pod's infrastructure", () => {
  const ended = (code: 'REMOTE_LOST' | 'NO_CAPACITY' | 'REMOTE_UNAVAILABLE'): EndedPod => ({
    reason: 'crashed',
    uptimeMs: 200,
    signal: null,
    exitCode: 70,
    wasReady: false,
    code,
  });

  it('never makes a recipe fatal for lost nodes, and restarts one at once', () => {
    const p = policy();
    for (let i = 0; i < 10; i += 1) expect(p.record(ended('REMOTE_LOST'), 1000)).toBe('restartable');
    expect(p.delayMs(1000)).toBe(0);
    expect(p.unstableCrashes).toBe(0);
  });

  it('waits the first backoff, and never more, when no node had room or the cluster did not answer', () => {
    const p = policy();
    for (let i = 0; i < 10; i += 1) {
      expect(p.record(ended(i % 2 ? 'NO_CAPACITY' : 'REMOTE_UNAVAILABLE'), 1000)).toBe('restartable');
    }
    expect(p.delayMs(1000)).toBe(500);
    expect(p.unstableCrashes).toBe(0);
  });
});
