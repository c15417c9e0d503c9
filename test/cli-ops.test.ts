/**
 * The CLI's rough edges, each on its own so one failure hides none of the others: tracebacks of
 * handler errors, lifecycle lines in `logs`, a closed stdout, unknown targets, and the commands
 * whose answer did not match what they were asked.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { packCatalog, serializeIndex } from '../src/install/pack.js';
import { BIN, childEnv, followLogs, runCli, startDaemon, type TestDaemon } from './daemon-helpers.js';
import { eventually, FIXTURE_RECIPES, tempDir } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

const BOOM = [
  'ACTIONS = ("boom",)',
  '',
  'def process(payload, ctx):',
  '    return payload',
  '',
  'def boom(payload, ctx):',
  '    return divide(1, 0)',
  '',
  'def divide(a, b):',
  '    return a / b',
  '',
].join('\n');

/** A daemon that also serves `boomer`, whose `boom` action raises ZeroDivisionError. */
async function daemonWithBoomer(): Promise<TestDaemon> {
  const extra = tempDir('pk-extra-');
  writeRecipe({ name: 'boomer', code: BOOM }, extra);
  return startDaemon({ env: { PODKEEPER_RECIPE_PATH: `${FIXTURE_RECIPES}:${extra}` } });
}

describe('cli: handler tracebacks', () => {
  it('prints the traceback on stderr after the CODE: message line', async () => {
    const daemon = await daemonWithBoomer();
    const result = await runCli(['call', 'boomer', '-a', 'boom', '--home', daemon.home]);
    expect(result.code).toBe(1);
    // A cold start's lines come first; the error follows them.
    const errorAt = result.stderr.search(/^HANDLER_ERROR: /m);
    expect(result.stderr.slice(0, errorAt)).toMatch(/^(starting boomer: .*\n)*$/);
    const [first, ...rest] = result.stderr.slice(errorAt).split('\n');
    expect(first).toBe('HANDLER_ERROR: ZeroDivisionError: division by zero');
    expect(rest.join('\n')).toMatch(
      /Traceback \(most recent call last\):[\s\S]*in divide[\s\S]*ZeroDivisionError/,
    );
  });

  it('includes the traceback with --json: the error as one JSON object on stderr', async () => {
    const daemon = await daemonWithBoomer();
    const result = await runCli(['call', 'boomer', '-a', 'boom', '--json', '--home', daemon.home]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const error = JSON.parse(result.stderr) as Record<string, unknown>;
    expect(error).toMatchObject({
      code: 'HANDLER_ERROR',
      message: 'ZeroDivisionError: division by zero',
      traceback: expect.stringMatching(/in divide/),
    });
  });

  it("keeps the traceback in the recipe's logs", async () => {
    const daemon = await daemonWithBoomer();
    await runCli(['call', 'boomer', '-a', 'boom', '--home', daemon.home]);
    const logs = await runCli(['logs', 'boomer', '--home', daemon.home]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/boomer-\d+ +daemon +call boom failed: HANDLER_ERROR: ZeroDivisionError/);
    expect(logs.stdout).toMatch(/Traceback \(most recent call last\):[\s\S]*in divide/);
  });
});

describe('cli: lifecycle in logs', () => {
  it('shows spawned, ready and the reclaim with its reason for a quiet recipe', async () => {
    const daemon = await startDaemon();
    expect((await runCli(['call', 'echo', '{}', '-k', '0', '--home', daemon.home])).code).toBe(0);
    const logs = await runCli(['logs', 'echo', '--home', daemon.home]);
    expect(logs.code).toBe(0);
    const lines = logs.stdout.trim().split('\n');
    expect(lines.find((l) => / daemon +spawned \(pid \d+\)/.test(l))).toBeDefined();
    expect(lines.find((l) => / daemon +ready in \d+ ms/.test(l))).toBeDefined();
    expect(lines.find((l) => / daemon +stopped: keep-alive 0/.test(l))).toBeDefined();
  });

  it('names the guardian at spawned and the runner, the pid `ps` shows, at ready', async () => {
    const daemon = await startDaemon();
    expect((await runCli(['start', 'echo', '--home', daemon.home])).code).toBe(0);
    const ps = await runCli(['ps', '--json', '--home', daemon.home]);
    const shown = (JSON.parse(ps.stdout) as { pods: { recipe: string; pid: number }[] }).pods.find(
      (pod) => pod.recipe === 'echo',
    )?.pid;
    expect(shown).toBeGreaterThan(0);
    const logs = (await runCli(['logs', 'echo', '--home', daemon.home])).stdout;
    expect(logs).toMatch(new RegExp(` daemon +ready in \\d+ ms \\([\\d.]+ MB, pid ${shown}\\)`));
    // The process the daemon spawned is the runner's parent, its guardian.
    const spawned = Number(/ daemon +spawned \(pid (\d+)\)/.exec(logs)?.[1]);
    const parent = Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(shown)]).toString());
    expect(spawned).toBe(parent);
    expect(spawned).not.toBe(shown);
  });

  it('says why a pod stopped: by `stop`', async () => {
    const daemon = await startDaemon();
    await runCli(['start', 'echo', '--home', daemon.home]);
    await runCli(['stop', 'echo', '--home', daemon.home]);
    const logs = await runCli(['logs', 'echo', '--home', daemon.home]);
    expect(logs.stdout).toMatch(/ daemon +stopped: by a stop request/);
  });

  it('logs -f shows a pod reclaimed for idling, as it happens', async () => {
    const daemon = await startDaemon({ args: ['--idle-timeout', '0.5'] });
    const follower = await followLogs(daemon, 'echo');
    expect((await runCli(['call', 'echo', '{}', '--home', daemon.home])).code).toBe(0);
    expect(await eventually(() => / daemon +stopped: idle for 0\.5 s/.test(follower.output()), 10_000)).toBe(
      true,
    );
    expect(follower.output()).toMatch(/echo-\d+ daemon +spawned \(pid \d+\)/);
    expect(follower.output()).toMatch(/echo-\d+ daemon +ready in \d+ ms/);
    expect(await follower.interrupt()).toBe(0);
  });

  it('shows a crash with its exit code', async () => {
    const daemon = await startDaemon();
    await runCli(['call', 'crash-mid', '{"crash":true}', '--home', daemon.home]);
    const logs = await runCli(['logs', 'crash-mid', '--home', daemon.home]);
    expect(logs.stdout).toMatch(/ daemon +crashed: exit code \d+/);
  });
});

describe('cli: cold start', () => {
  it("says what a starting pod is doing, with the pod's own log lines, on a pipe", async () => {
    const daemon = await startDaemon();
    const result = await runCli(['call', 'slow-setup', '{}', '--home', daemon.home]);
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('starting slow-setup: loading…');
    expect(lines).toContain('starting slow-setup: loading part 1/5');
    expect(lines).toContain('starting slow-setup: loading part 5/5');
    expect(lines.at(-1)).toMatch(/^starting slow-setup: ready in \d+ ms$/);
  });

  it('keeps stderr quiet with --json, and a warm call says nothing', async () => {
    const daemon = await startDaemon();
    const cold = await runCli(['call', 'slow-setup', '{}', '--json', '--home', daemon.home]);
    expect(cold).toMatchObject({ code: 0, stderr: '' });
    const warm = await runCli(['call', 'slow-setup', '{}', '--home', daemon.home]);
    expect(warm).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('cli: ps', () => {
  it('shows the time until an idle pod is reclaimed, and restarts after a crash', async () => {
    const daemon = await startDaemon({ args: ['--idle-timeout', '300'] });
    const at = ['--home', daemon.home];
    expect((await runCli(['call', 'crash-mid', '{"crash":true}', ...at])).code).toBe(1);
    expect((await runCli(['call', 'crash-mid', '{}', ...at])).code).toBe(0);
    expect((await runCli(['call', 'echo', '{}', '-k', '-1', ...at])).code).toBe(0);
    const ps = await runCli(['ps', ...at]);
    expect(ps.stdout).toMatch(
      /^ID +RECIPE +REPLICA +STATE +PID +RSS MB +UPTIME +IDLE +UNTIL +CALLS +RESTARTS$/m,
    );
    expect(ps.stdout).toMatch(
      /^crash-mid-\d+ +crash-mid +0 +ready +\d+ +\S+ +\S+ +\S+ +(4m5\ds|5m00s) +1 +1$/m,
    );
    expect(ps.stdout).toMatch(/^echo-\d+ +echo +0 +ready .* forever +1 +0$/m);
    const json = JSON.parse((await runCli(['ps', '--json', ...at])).stdout) as {
      pods: { recipe: string; replica: number; restarts: number; reclaimInSeconds: number | null }[];
    };
    expect(json.pods.find((p) => p.recipe === 'crash-mid')).toMatchObject({
      replica: 0,
      restarts: 1,
      reclaimInSeconds: expect.any(Number),
    });
    expect(json.pods.find((p) => p.recipe === 'echo')?.reclaimInSeconds).toBeNull();
  });
});

describe('daemon.log', () => {
  it('says why each pod stopped, and has one pid key per line', async () => {
    const daemon = await startDaemon();
    const at = ['--home', daemon.home];
    expect((await runCli(['call', 'echo', '{}', '-k', '0', ...at])).code).toBe(0);
    await runCli(['start', 'echo', ...at]);
    await runCli(['stop', 'echo', ...at]);
    await runCli(['start', 'echo', ...at]);
    expect((await runCli(['shutdown', ...at])).code).toBe(0);
    const lines = readFileSync(join(daemon.home, 'logs', 'daemon.log'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.filter((line) => (line.match(/"pid":/g) ?? []).length > 1)).toEqual([]);
    const stops = lines
      .map((line) => JSON.parse(line) as { msg: string; why?: string })
      .filter((record) => record.msg === 'pod stopped')
      .map((record) => record.why);
    expect(stops).toEqual(['keepAlive', 'stopped', 'shutdown']);
  });
});

describe('cli: rough edges', () => {
  it('exits quietly when stdout is closed early (status | head -1)', async () => {
    const daemon = await startDaemon();
    const child = spawn(process.execPath, [BIN, 'status', '--home', daemon.home], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader is gone before the CLI writes a byte
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('logs of an unknown target is an error', async () => {
    const daemon = await startDaemon();
    const result = await runCli(['logs', 'nosuch', '--home', daemon.home]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^UNKNOWN_TARGET: .*"nosuch"/);
  });

  it('stop with no target says what is missing', async () => {
    const result = await runCli(['stop', '--home', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^BAD_REQUEST: Give a TARGET \(recipe, capability or pod id\) or --all\.$/m,
    );
    const both = await runCli(['stop', 'echo', '--all', '--home', tempDir()]);
    expect(both.stderr).toMatch(/not both/);
  });

  it('shutdown with no daemon running is no error', async () => {
    const home = tempDir();
    const result = await runCli(['shutdown', '--home', home]);
    expect(result).toMatchObject({ code: 0, stdout: 'no daemon was running\n' });
  });

  it('refuses -t 0 as a usage error, as the daemon would', async () => {
    const result = await runCli(['call', 'echo', '{}', '-t', '0', '--home', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/seconds > 0/);
  });

  it('run prints like call: pretty by default, one line with --json, and takes a folder', async () => {
    const pretty = await runCli(['run', 'echo', '{"text":"hi"}']);
    expect(pretty).toMatchObject({ code: 0, stdout: '{\n  "text": "hi"\n}\n' });
    const compact = await runCli(['run', 'echo', '{"text":"hi"}', '--json']);
    expect(compact).toMatchObject({ code: 0, stdout: '{"text":"hi"}\n' });
    const folder = writeRecipe({ name: 'local-one' });
    const byPath = await runCli(['run', folder, '"x"', '--json']);
    expect(byPath.stderr).toBe('');
    expect(JSON.parse(byPath.stdout)).toMatchObject({ name: 'local-one', input: 'x' });
  });

  it('install of a folder without recipe.json names that folder, not the staging copy', async () => {
    const daemon = await startDaemon();
    const folder = tempDir('pk-norecipe-');
    const result = await runCli(['install', folder, '--home', daemon.home]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`INVALID_RECIPE: ${folder} has no recipe.json`);
    expect(result.stderr).not.toContain('staging');
    expect(result.stderr).not.toContain('ENOENT');
  });

  it('call of an installable recipe that is not installed gives the install command', async () => {
    const daemon = await startDaemon({ env: { PODKEEPER_INDEX_URL: undefined } });
    const result = await runCli(['call', 'embeddings', '{}', '--home', daemon.home]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^UNKNOWN_TARGET: .*It is in the recipe index: podkeeper install embeddings/,
    );
  });

  it('recipes --available lists the recipe index with sizes and what is installed', async () => {
    const daemon = await startDaemon({ env: { PODKEEPER_INDEX_URL: undefined } });
    const table = await runCli(['recipes', '--available', '--home', daemon.home]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME +VERSION +CAPABILITY +SIZE +INSTALLED +DESCRIPTION$/m);
    expect(table.stdout).toMatch(
      /^embeddings +1\.1\.0 +embeddings +\d+(\.\d)? KiB +no +Sentence embeddings/m,
    );
    const json = JSON.parse(
      (await runCli(['recipes', '--available', '--json', '--home', daemon.home])).stdout,
    ) as {
      available: { name: string; size: number; installed: boolean; sha256: string }[];
    };
    expect(json.available.map((r) => r.name)).toEqual([
      'embeddings',
      'summarization',
      'whisper-transcription',
    ]);
    expect(json.available[0]).toMatchObject({ size: expect.any(Number), installed: false });
  });

  it('call --pull installs an index recipe first, its sha256 checked', async () => {
    const root = tempDir('pk-index-');
    writeRecipe({ name: 'tiny' }, join(root, 'catalog'));
    const { index } = await packCatalog(join(root, 'catalog'));
    writeFileSync(join(root, 'index.json'), serializeIndex(index));
    const daemon = await startDaemon({ env: { PODKEEPER_INDEX_URL: join(root, 'index.json') } });
    const at = ['--home', daemon.home];
    const hinted = await runCli(['call', 'tiny', '"x"', ...at]);
    expect(hinted.stderr).toMatch(/podkeeper install tiny \(or call it with --pull/);

    writeFileSync(
      join(root, 'catalog', 'tiny', 'pod.py'),
      'def process(payload, ctx):\n    return "tampered"\n',
    );
    const refused = await runCli(['call', 'tiny', '"x"', '--pull', ...at]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^INTEGRITY_ERROR: /m);

    writeRecipe({ name: 'tiny' }, join(root, 'catalog'));
    const pulled = await runCli(['call', 'tiny', '"x"', '--pull', '--json', ...at]);
    expect(pulled.stderr).toMatch(/^installed tiny 1\.0\.0/m);
    expect(pulled.code).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ name: 'tiny', input: 'x' });
  });
});
