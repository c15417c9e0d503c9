/** The leak check's two ways to see processes, /proc and `ps` (macOS has no /proc), agree. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { eventually, onCleanup, ourProcesses, RUN_MARKER } from './helpers.js';
import { commandLine, ignoredSignals, isAlive, viaPs } from './processes.js';

describe('process checks', () => {
  it('find a process by its environment, and see it gone once it is reaped, through /proc and ps alike', async () => {
    const child = spawn('sh', ['-c', 'trap "" TERM; exec sleep 30'], {
      env: { ...process.env, PODKEEPER_TEST_RUN: RUN_MARKER },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    onCleanup(() => child.kill('SIGKILL'));
    const pid = child.pid as number;
    expect(await eventually(() => commandLine(pid) === 'sleep 30')).toBe(true);
    expect(ourProcesses()).toEqual([pid]);
    expect(viaPs.processesWithEnv(RUN_MARKER)).toEqual([pid]);
    expect([isAlive(pid), viaPs.isAlive(pid)]).toEqual([true, true]);
    expect(ignoredSignals(pid) & 0x4000n).toBe(0x4000n); // SIGTERM
    child.kill('SIGKILL');
    await exited;
    expect([isAlive(pid), viaPs.isAlive(pid)]).toEqual([false, false]);
    expect(viaPs.processesWithEnv(RUN_MARKER)).toEqual([]);
  });

  it('refuse to ask about a pid that was never found', () => {
    expect(() => isAlive(undefined)).toThrow(/needs a pid/);
    expect(() => isAlive(null)).toThrow(/needs a pid/);
    expect(() => isAlive(0)).toThrow(/needs a pid/);
  });
});
