/**
 * `gc` looks through /proc for processes running from an env (other daemons' pods share the home).
 * It reads those files a few at a time: opening them all at once ran a daemon with few descriptors
 * out of them, and an unreadable process then looked like one using no env, so its env was deleted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { onCleanup, RUN_MARKER, tempDir } from './helpers.js';

function sleeper(env: Record<string, string> = {}): ChildProcess {
  const child = spawn('sleep', ['600'], { env: { ...env, PODKEEPER_TEST_RUN: RUN_MARKER }, stdio: 'ignore' });
  onCleanup(() => child.kill('SIGKILL'));
  return child;
}

describe('gc under few file descriptors', () => {
  it('keeps the env another process runs from, with 200 processes to look at under ulimit -n 64', async () => {
    const home = tempDir('pk-home-');
    const [used, unused] = ['0123456789abcdef', 'fedcba9876543210'];
    for (const hash of [used, unused]) mkdirSync(join(home, 'envs', hash, 'bin'), { recursive: true });
    for (let i = 0; i < 200; i++) sleeper();
    sleeper({ VIRTUAL_ENV: join(home, 'envs', used) }); // a pod of another daemon on this home, say
    const daemon = await startDaemon({ home, maxOpenFiles: 64 });
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'gc', action: 'gc', payload: {} });
    expect(await client.answer('gc', 20_000)).toMatchObject({
      success: true,
      result: { removed: [unused], kept: [{ hash: used, reason: 'in use' }] },
    });
    expect(existsSync(join(home, 'envs', used))).toBe(true);
  });
});
