/**
 * Plumbing for the python-exec suites: real daemons whose `python-exec` pods run in a venv built
 * offline from a wheelhouse made once per test file (cloudpickle repacked from the test interpreter,
 * and the per-request dependencies `pk-exec-dep`, `pk-exec-other`), on a home shared by the file's
 * tests so the env is built once; cloudpickle values made and read by that same interpreter.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { type RawConnection, rawConnect, startDaemon, type TestDaemon } from './daemon-helpers.js';

export const PYTHON = process.env['PODKEEPER_PYTHON'] ?? 'python3';
export const EXEC_RECIPE = join(import.meta.dirname, '..', 'recipes', 'python-exec');

export interface ExecSetup {
  home: string;
  wheelhouse: string;
  uvCache: string;
}

/** A home, wheelhouse and uv cache that live until the end of the test file. */
export function execSetup(): ExecSetup {
  const root = mkdtempSync(join(tmpdir(), 'pk-exec-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return execSetupIn(root);
}

/**
 * A home, wheelhouse and uv cache under `root` (the caller removes it); the pods' cloudpickle is
 * repacked from `python`'s.
 */
export function execSetupIn(root: string, python = PYTHON): ExecSetup {
  const setup = {
    home: join(root, 'home'),
    wheelhouse: join(root, 'wheels'),
    uvCache: join(root, 'uv-cache'),
  };
  mkdirSync(setup.home, { recursive: true, mode: 0o700 });
  execFileSync(python, [join(EXEC_RECIPE, 'tests', 'make_wheelhouse.py'), setup.wheelhouse]);
  return setup;
}

/** A daemon on the shared home, in venv mode, installing from the wheelhouse only. */
export function startExecDaemon(setup: ExecSetup, env: Record<string, string> = {}): Promise<TestDaemon> {
  return startDaemon({
    home: setup.home,
    env: {
      PODKEEPER_ENV_MODE: 'venv',
      PODKEEPER_PYTHON: PYTHON,
      PODKEEPER_WHEELHOUSE: setup.wheelhouse,
      UV_OFFLINE: '1',
      UV_NO_CONFIG: '1',
      UV_CACHE_DIR: setup.uvCache,
      ...env,
    },
  });
}

export type FunctionResponse = Record<string, unknown> & {
  success: boolean;
  result: unknown;
  stdout: string;
};

let nextId = 0;

/** Sends one `execute` call; resolves with the protocol's final line (the FunctionResponse in `result`). */
export async function callExecute(
  conn: RawConnection,
  request: Record<string, unknown>,
  action = 'execute',
): Promise<Record<string, unknown>> {
  const id = `x${++nextId}`;
  conn.send({ id, action: 'call', payload: { target: 'python-exec', action, input: request, timeout: 60 } });
  return conn.answer(id, 60_000);
}

/** Sends one `execute` call and returns its FunctionResponse (the protocol answer must succeed). */
export async function execute(
  conn: RawConnection,
  request: Record<string, unknown>,
): Promise<FunctionResponse> {
  const answer = await callExecute(conn, request);
  expect(answer, JSON.stringify(answer)).toMatchObject({ success: true });
  return answer['result'] as FunctionResponse;
}

export async function connectExec(daemon: TestDaemon): Promise<RawConnection> {
  return rawConnect(daemon.socket);
}

/** Base64 cloudpickles of JSON values, made by the test interpreter (one process for all). */
export function pickle(...values: unknown[]): string[] {
  const script =
    'import base64, json, sys, cloudpickle\n' +
    'print(json.dumps([base64.b64encode(cloudpickle.dumps(v)).decode() for v in json.load(sys.stdin)]))';
  return JSON.parse(
    execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(values), encoding: 'utf8' }),
  );
}

/** The values of base64 pickles, as JSON (tuples become arrays; anything else JSON lacks, its repr). */
export function unpickle(...values: string[]): unknown[] {
  const script =
    'import base64, json, pickle, sys\n' +
    'print(json.dumps([pickle.loads(base64.b64decode(v)) for v in json.load(sys.stdin)], default=repr))';
  return JSON.parse(
    execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(values), encoding: 'utf8' }),
  );
}

/** Python source from lines (keeps the tests' code readable). */
export function py(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
