/**
 * `podkeeper doctor`, run as the real command, with each class of problem provoked for real: a home
 * others may write, no uv anywhere, no daemon, a socket path too long to bind, a python that does
 * not run. Each is one line with its status and its fix; a `fail` makes the exit code 1.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../src/cli/doctor/checks.js';
import { runCli, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
  encoding: 'utf8',
}).trim();

async function doctor(args: string[], env: Record<string, string | undefined> = {}) {
  const result = await runCli(['doctor', '--json', ...args], { env });
  const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
  const check = (name: string) => report.checks.find((c) => c.name === name);
  return { code: result.code, report, check };
}

describe('podkeeper doctor', () => {
  it('all ok with a running daemon: exit 0, one line per check', async () => {
    const daemon = await startDaemon();
    const { code, report, check } = await doctor(['--home', daemon.home]);
    expect(report.checks.map((c) => c.name)).toEqual([
      'node',
      'home',
      'config',
      'python',
      'uv',
      'env mode',
      'disk',
      'socket',
      'daemon',
    ]);
    expect(check('daemon')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^running: pid \d+/),
    });
    expect(check('python')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^Python 3\.\d+/) });
    // The disk check may warn on a full machine; nothing else may.
    expect(report.checks.filter((c) => c.status !== 'ok' && c.name !== 'disk')).toEqual([]);
    expect({ code, ok: report.ok }).toEqual({ code: 0, ok: true });

    const text = await runCli(['doctor', '--home', daemon.home]);
    expect(text.stdout).toMatch(/^ok {4}python {4}Python 3/m);
    expect(text.stdout).toMatch(/^ok {4}daemon {4}running: pid /m);
  });

  it('no daemon: fail with the command that starts one, exit 1', async () => {
    const home = tempDir('pk-home-');
    const { code, report, check } = await doctor(['--home', home]);
    expect(check('daemon')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^No podkeeper daemon is running at /),
      fix: expect.stringContaining(`podkeeper daemon --home ${home}`),
    });
    expect({ code, ok: report.ok }).toEqual({ code: 1, ok: false });
  });

  it('a home others may write: fail, with the chmod to run; the checks that read it are skipped', async () => {
    const home = tempDir('pk-home-');
    chmodSync(home, 0o777);
    const { code, check } = await doctor(['--home', home]);
    expect(check('home')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('is writable by others (mode 777)'),
      fix: expect.stringContaining(`chmod 700 ${home}`),
    });
    expect(check('config')).toBeUndefined();
    expect(code).toBe(1);
  });

  it('no uv on PATH nor in the home: warn, saying how to get one', async () => {
    const home = tempDir('pk-home-');
    const { check } = await doctor(['--home', home], {
      PATH: dirname(process.execPath), // node only: no uv, no python3
      PODKEEPER_PYTHON: PYTHON,
    });
    expect(check('python')).toMatchObject({ status: 'ok' });
    expect(check('uv')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('uv is not on PATH'),
      fix: expect.stringContaining('PODKEEPER_UV'),
    });
  });

  it('a python that does not run, and a socket path too long to bind: fail with their fixes', async () => {
    const home = tempDir('pk-home-');
    const deep = join(home, 'x'.repeat(60), 'y'.repeat(60));
    mkdirSync(deep, { recursive: true });
    const { code, check } = await doctor([
      '--home',
      home,
      '--python',
      '/nonexistent/python3',
      '--socket',
      join(deep, 's.sock'),
    ]);
    expect(check('python')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('PODKEEPER_PYTHON'),
    });
    expect(check('socket')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^The socket path is \d+ bytes long/),
      fix: expect.stringContaining('--socket'),
    });
    expect(code).toBe(1);
  });
});
