/**
 * `npm start -- OPTIONS`, as the README says to run the daemon: the options reach the daemon (npm
 * used to take them as its own config), an up-to-date dist/ is not compiled again, and the daemon
 * runs with its young-generation cap.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, ROOT, runCli } from './daemon-helpers.js';
import { eventually, onCleanup, tempDir } from './helpers.js';

describe('npm start', () => {
  it('passes the options after -- to the daemon, and does not rebuild an up-to-date dist/', async () => {
    const home = tempDir('pk-home-');
    const built = join(ROOT, 'dist', 'cli', 'main.js');
    const builtAt = statSync(built).mtimeMs;
    const npm = spawn('npm', ['start', '--', '--home', home, '--idle-timeout', '0.5'], {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: npm, its shell, node and the daemon go together
    });
    let output = '';
    for (const stream of [npm.stdout, npm.stderr])
      stream.setEncoding('utf8').on('data', (text: string) => {
        output += text;
      });
    const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
    onCleanup(async () => {
      if (npm.exitCode !== null || npm.signalCode !== null) return;
      process.kill(-(npm.pid as number), 'SIGKILL');
      await exited;
    });

    const listening = await eventually(() => existsSync(join(home, 'podkeeper.sock')), 20_000, 50);
    expect(listening, output).toBe(true);
    expect(statSync(built).mtimeMs).toBe(builtAt);
    expect(output).not.toContain('building');

    // The daemon npm started runs with the young-generation cap bin/podkeeper.js gives it.
    const { pid } = JSON.parse((await runCli(['status', '--json', '--home', home])).stdout) as {
      pid: number;
    };
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=4');

    expect((await runCli(['call', 'echo', '{}', '--home', home])).code).toBe(0);
    // --idle-timeout 0.5 reached the daemon: the pod is reclaimed within moments, not 5 minutes.
    const logs = async () => (await runCli(['logs', 'echo', '--home', home])).stdout;
    let reclaimed = false;
    for (let i = 0; i < 50 && !reclaimed; i++) reclaimed = /stopped: idle for 0\.5 s/.test(await logs());
    expect(reclaimed).toBe(true);

    expect((await runCli(['shutdown', '--home', home])).code).toBe(0);
    expect(await exited).toBe(0);
  });
});
