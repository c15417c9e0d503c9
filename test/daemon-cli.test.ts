/** The podkeeper CLI against a real daemon: every command, its output and its exit code. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { followLogs, runCli, startDaemon } from './daemon-helpers.js';
import { eventually, tempDir } from './helpers.js';

/** A daemon on a temporary home, and the CLI pointed at it. */
async function daemonAndCli() {
  const daemon = await startDaemon();
  const at = ['--home', daemon.home];
  const cli = (...args: string[]) => runCli([...args, ...at]);
  return { daemon, at, cli };
}

describe('cli', () => {
  it('status says the daemon runs, as a line and as JSON (exit 0)', async () => {
    const { daemon, cli } = await daemonAndCli();
    const status = await cli('status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      pid: daemon.child.pid,
      socket: daemon.socket,
      pods: 0,
    });
    expect((await cli('status')).stdout).toMatch(/^daemon +running, pid \d+/m);
  });

  it('call prints the result alone on stdout, the cold start on stderr; reads stdin; runs an --action', async () => {
    const { at, cli } = await daemonAndCli();
    const called = await cli('call', 'echo', '{"text":"hi"}');
    expect(called.code).toBe(0);
    expect(called.stderr).toMatch(/^starting echo: loading…\nstarting echo: ready in \d+ ms\n$/);
    expect(JSON.parse(called.stdout)).toEqual({ text: 'hi' });
    const piped = await runCli(['call', 'echo', '-', '--json', ...at], { input: '{"from":"stdin"}' });
    expect(piped).toMatchObject({ code: 0, stdout: '{"from":"stdin"}\n' });
    const reversed = await cli('call', 'echo', '{"text":"abc"}', '--action', 'reverse', '--json');
    expect(reversed.stdout).toBe('{"text":"cba"}\n');
  });

  it('call prints chunks as JSON lines and progress on stderr', async () => {
    const { cli } = await daemonAndCli();
    const streamed = await cli('call', 'stream', '{"text":"a b"}', '--json');
    expect(streamed.code).toBe(0);
    expect(streamed.stdout.split('\n').slice(0, 2)).toEqual(['{"token":"a"}', '{"token":"b"}']);
    const progress = await cli('call', 'stream', '{"text":"a b"}');
    expect(progress.stderr).toContain('progress 50% token 1');
  });

  it('call exits 2 on bad input, 1 on a failed call, with the error code first on stderr', async () => {
    const { cli } = await daemonAndCli();
    const notJson = await cli('call', 'echo', '{text:hi}');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/^BAD_REQUEST: The input is not valid JSON/);
    expect((await cli('call', 'echo', '{}', '--timeout', 'soon')).code).toBe(2);
    const unknown = await cli('call', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^UNKNOWN_TARGET: No recipe or capability named "nope"/);
    const crashed = await cli('call', 'crash-mid', '{"crash":true}');
    expect(crashed.code).toBe(1);
    expect(crashed.stderr).toMatch(/^POD_CRASHED: /m);
    const timedOut = await cli('call', 'hang', '{"cooperative":true}', '--timeout', '0.3');
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/^TIMEOUT: /m);
  });

  it('start, ps, recipes and logs show the pods, the recipes and their log lines', async () => {
    const { cli } = await daemonAndCli();
    expect((await cli('call', 'echo', '{}')).code).toBe(0);
    expect((await cli('call', 'crash-mid', '{"crash":true}')).code).toBe(1);
    const started = await cli('start', 'concurrent');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^concurrent-\d+ ready \(pid \d+, ready in \d+ ms\)/);
    const ps = await cli('ps');
    expect(ps.stdout).toMatch(
      /^ID +RECIPE +REPLICA +STATE +PID +RSS MB +UPTIME +IDLE +UNTIL +CALLS +RESTARTS$/m,
    );
    expect(ps.stdout).toMatch(/^echo-\d+ +echo +0 +ready +\d+ /m);
    expect(ps.stdout).toMatch(/^concurrent-\d+ +concurrent +0 +ready +\d+ /m);

    const recipes = await cli('recipes', '--json');
    expect(
      (JSON.parse(recipes.stdout) as { recipes: { name: string }[] }).recipes.map((r) => r.name),
    ).toEqual(expect.arrayContaining(['echo', 'stream', 'stubborn']));
    expect((await cli('recipes')).stdout).toMatch(/^NAME +VERSION +CAPABILITY +STATE +BUILTIN +SOURCE$/m);

    const logs = await cli('logs', 'crash-mid', '-n', '5');
    expect(logs.code).toBe(0);
    expect(logs.stdout.trim().split('\n').length).toBeLessThanOrEqual(5);
    expect(logs.stdout).toMatch(/crash-mid-\d+/);
  });

  it('stop stops a pod by id, by recipe or all, and says so; without a target it exits 2', async () => {
    const { cli } = await daemonAndCli();
    expect((await cli('call', 'echo', '{}')).code).toBe(0);
    expect((await cli('start', 'concurrent')).code).toBe(0);
    const psJson = JSON.parse((await cli('ps', '--json')).stdout) as {
      pods: { id: string; recipe: string }[];
    };
    const echoId = psJson.pods.find((pod) => pod.recipe === 'echo')?.id as string;
    expect(echoId).toMatch(/^echo-\d+$/);
    expect(await cli('stop', echoId)).toMatchObject({ code: 0, stdout: `stopped ${echoId}\n` });
    expect(await cli('stop', 'echo')).toMatchObject({ code: 0, stdout: 'no pod was running\n' });
    expect((await cli('stop', '--all')).stdout).toMatch(/^stopped concurrent-\d+$/m);
    expect((await cli('stop')).code).toBe(2);
    expect(JSON.parse((await cli('ps', '--json')).stdout)).toMatchObject({ pods: [] });
  });

  it('install and remove refuse what they cannot do, with the code; a built-in recipe stays', async () => {
    const { cli } = await daemonAndCli();
    const install = await cli('install', './some-recipe');
    expect(install.code).toBe(1);
    expect(install.stderr).toMatch(/^INSTALL_FAILED: Cannot install ".*\/some-recipe": no such directory/);
    const remove = await cli('remove', 'echo');
    expect(remove).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'INSTALL_FAILED: "echo" is built in and cannot be removed.\n',
    });
    const recipes = JSON.parse((await cli('recipes', '--json')).stdout) as { recipes: { name: string }[] };
    expect(recipes.recipes.map((r) => r.name)).toContain('echo');
    expect(await cli('call', 'echo', '{"still":"here"}', '--json')).toMatchObject({
      code: 0,
      stdout: '{"still":"here"}\n',
    });
  });

  it('exits 2 on an unknown command and 0 on --help', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('frobnicate');
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: podkeeper/m);
  });

  it('shutdown stops the daemon, removes its socket, logs it; then status exits 3', async () => {
    const { daemon, cli } = await daemonAndCli();
    expect((await cli('call', 'echo', '{}')).code).toBe(0);
    const shutdown = await cli('shutdown');
    expect(shutdown).toMatchObject({ code: 0, stdout: 'daemon stopped\n' });
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(daemon.socket)).toBe(false);
    const log = readFileSync(join(daemon.home, 'logs', 'daemon.log'), 'utf8')
      .trim()
      .split('\n');
    const messages = log.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toEqual(expect.arrayContaining(['daemon listening', 'pod ready', 'daemon stopped']));

    const gone = await cli('status');
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(/^DAEMON_NOT_RUNNING: .*Start one with: podkeeper daemon --home /);
    expect(gone.stderr).toContain(daemon.home);
  });

  it('logs -f prints new lines as they come, until interrupted', async () => {
    const daemon = await startDaemon();
    const follower = await followLogs(daemon, 'noisy');
    const printed = () => follower.output().match(/noisy-\d+ stderr +a stray print/g)?.length ?? 0;
    // Each call's line shows while the follower keeps running: it streams, not a one-off tail.
    for (const calls of [1, 2]) {
      expect((await runCli(['call', 'noisy', '{}', '--home', daemon.home])).code).toBe(0);
      expect(await eventually(() => printed() === calls, 5000)).toBe(true);
      expect(follower.running()).toBe(true);
    }
    expect(await follower.interrupt()).toBe(0);
  });

  it('honours NO_COLOR, and colours only when asked', async () => {
    const daemon = await startDaemon();
    const colour = await runCli(['ps', '--home', daemon.home], {
      env: { FORCE_COLOR: '1', NO_COLOR: undefined },
    });
    expect(colour.stdout).toContain('\u001b[');
    const plain = await runCli(['ps', '--home', daemon.home], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(plain.stdout).not.toContain('\u001b[');
  });

  it('says how to start a daemon when none runs', async () => {
    const home = tempDir();
    const result = await runCli(['call', 'echo', '{}', '--home', home]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `DAEMON_NOT_RUNNING: No podkeeper daemon is running at ${home}/podkeeper.sock (it has no socket). ` +
        `Start one with: podkeeper daemon --home ${home}\n`,
    );
  });
});
