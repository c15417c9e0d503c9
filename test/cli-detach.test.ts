/**
 * `podkeeper daemon --detach`: starts a real daemon in the background, waits until it answers,
 * prints its pid and exits 0; the pid file is in the home while it runs; a second --detach says
 * DAEMON_ALREADY_RUNNING; `shutdown` stops it and the pid file goes with it; no process is left.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './daemon-helpers.js';
import { eventually, isAlive, onCleanup, ourProcesses, tempDir } from './helpers.js';

/** Stops a detached daemon the test could not stop itself (the test failed half-way). */
function reap(pid: number): void {
  onCleanup(async () => {
    if (!isAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    if (!(await eventually(() => !isAlive(pid), 8000))) process.kill(pid, 'SIGKILL');
  });
}

describe('podkeeper daemon --detach', () => {
  it('starts in the background, refuses a second, and shutdown stops it leaving nothing', async () => {
    const home = tempDir('pk-home-');
    const started = await runCli(['daemon', '--detach', '--home', home, '--idle-timeout', '5']);
    expect(started.code, started.stderr).toBe(0);
    const pid = Number(started.stdout.trim());
    reap(pid);
    expect(started.stdout).toBe(`${pid}\n`);
    expect(isAlive(pid)).toBe(true);
    expect(readFileSync(join(home, 'podkeeper.pid'), 'utf8')).toBe(`${pid}\n`);

    // It is a daemon like any other: it answers, with the flags it was given.
    const called = await runCli(['call', 'echo', '{"text":"hi"}', '--home', home]);
    expect(called).toMatchObject({ code: 0 });
    const status = JSON.parse((await runCli(['status', '--json', '--home', home])).stdout) as { pid: number };
    expect(status.pid).toBe(pid);

    const second = await runCli(['daemon', '--detach', '--home', home]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^DAEMON_ALREADY_RUNNING: .*\\(pid ${pid}\\)`));

    expect(await runCli(['shutdown', '--home', home])).toMatchObject({ code: 0 });
    expect(await eventually(() => !isAlive(pid), 10_000)).toBe(true);
    expect(await eventually(() => !existsSync(join(home, 'podkeeper.pid')), 2000)).toBe(true);
    expect(await eventually(() => ourProcesses().length === 0, 5000)).toBe(true);
  });

  it('two at once: one starts and owns the pid file, the other says DAEMON_ALREADY_RUNNING', async () => {
    const home = tempDir('pk-home-');
    const results = await Promise.all([0, 1].map(() => runCli(['daemon', '--detach', '--home', home])));
    const won = results.filter((result) => result.code === 0);
    for (const result of won) reap(Number(result.stdout.trim()));
    expect(won).toHaveLength(1);
    const pid = Number(won[0]?.stdout.trim());
    const lost = results.find((result) => result.code !== 0);
    expect(lost?.code).toBe(1);
    expect(lost?.stderr).toMatch(new RegExp(`^DAEMON_ALREADY_RUNNING: .*\\(pid ${pid}\\)`));
    // The loser has exited without taking the winner's pid file with it.
    expect(await eventually(() => ourProcesses().filter((p) => p !== pid).length === 0, 10_000)).toBe(true);
    expect(readFileSync(join(home, 'podkeeper.pid'), 'utf8')).toBe(`${pid}\n`);
    expect(await runCli(['shutdown', '--home', home])).toMatchObject({ code: 0 });
    expect(await eventually(() => !isAlive(pid), 10_000)).toBe(true);
  });

  it('a bad setting is refused before anything starts (INVALID_OPTION, exit 2)', async () => {
    const home = tempDir('pk-home-');
    const result = await runCli(['daemon', '--detach', '--home', home, '--idle-timeout', '-7']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^INVALID_OPTION: .*idleTimeout/);
    expect(existsSync(join(home, 'podkeeper.pid'))).toBe(false);
    const both = await runCli(['daemon', '--detach', '--stdio', '--home', home]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^BAD_REQUEST: --detach and --stdio cannot go together/);
  });

  it('a daemon that fails at start: its output is the error, exit 1, no pid file', async () => {
    const home = tempDir('pk-home-');
    const socket = join(home, 'not-a-socket');
    writeFileSync(socket, 'a plain file where the socket should go');
    const result = await runCli(['daemon', '--detach', '--home', home, '--socket', socket]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^SPAWN_FAILED: The detached daemon exited with code \d+\. Its output/);
    expect(result.stderr).toContain('exists and is not a socket');
    expect(existsSync(join(home, 'podkeeper.pid'))).toBe(false);
    expect(await eventually(() => ourProcesses().length === 0, 5000)).toBe(true);
  });
});
