/**
 * python-exec driven by today's runpod-flash client (1.21.0, from PyPI into a throwaway venv):
 * requests built by its own `FunctionRequest`, answers validated by its own `FunctionResponse` and
 * read by its live stub (recipes/python-exec/tests/flash_client.py), against real daemons whose pods
 * carry the client's cloudpickle (3.x), and one whose pod carries cloudpickle 2.2.1 (the mismatch).
 * Instance timestamps are parsed by a real Python 3.10.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../daemon-helpers.js';
import { EXEC_RECIPE, type ExecSetup, execSetupIn, PYTHON, startExecDaemon } from '../python-exec-helpers.js';

const run = promisify(execFile);
const FLASH = 'runpod-flash==1.21.0';
const OLD_CLOUDPICKLE = 'cloudpickle==2.2.1';
const PY310 = process.env['PODKEEPER_TEST_PYTHON310'] ?? '/root/.pyenv/versions/3.10.13/bin/python3';
/** worker-tetra's FunctionResponse keys, which every answer carries. */
const TETRA_KEYS = ['error', 'instance_id', 'instance_info', 'json_result', 'result', 'stdout', 'success'];

let root = '';
let flashPython = '';
let matched: ExecSetup;
let mismatched: ExecSetup;

/** A throwaway venv (on the test interpreter's Python) with `requirements`; its python. */
async function venv(name: string, ...requirements: string[]): Promise<string> {
  const base = execFileSync(PYTHON, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  const dir = join(root, name);
  await run('uv', ['venv', '-q', '--python', base, dir]);
  const python = join(dir, 'bin', 'python');
  await run('uv', ['pip', 'install', '-q', '--python', python, ...requirements]);
  return python;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pk-flash-'));
  const [flash, old] = await Promise.all([venv('flash', FLASH), venv('old', OLD_CLOUDPICKLE)]);
  flashPython = flash;
  matched = execSetupIn(join(root, 'matched'), flash); // the pods' cloudpickle: the client's
  mismatched = execSetupIn(join(root, 'mismatched'), old);
}, 300_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

type Seen = Record<string, unknown> & { fields: string[]; responses: Record<string, unknown>[] };

/** Runs flash_client.py's scenarios in the runpod-flash venv against a fresh daemon on `setup`. */
async function drive(setup: ExecSetup, ...scenarios: string[]): Promise<Seen> {
  const daemon = await startExecDaemon(setup);
  const script = join(EXEC_RECIPE, 'tests', 'flash_client.py');
  const { stdout } = await run(flashPython, [script, daemon.socket, ...scenarios], {
    cwd: root, // runpod-flash writes .flash/logs into its working directory
    env: childEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
  const seen = JSON.parse(stdout) as Seen;
  for (const name of scenarios) expect(seen[name], name).not.toHaveProperty('failed');
  expect(seen.fields).toEqual(TETRA_KEYS); // the model this test validates against, as read from the wheel
  for (const response of seen.responses) {
    for (const key of TETRA_KEYS)
      expect(response, `${key} in ${JSON.stringify(response)}`).toHaveProperty(key);
  }
  return seen;
}

describe('python-exec with runpod-flash 1.21.0', () => {
  it('runs functions and classes in both serialization formats, answers validating as its FunctionResponse', async () => {
    const seen = await drive(
      matched,
      'function_cloudpickle',
      'function_json',
      'class_cloudpickle',
      'class_json',
    );
    expect(seen['function_cloudpickle']).toEqual({ value: 5, result_type: 'str' });
    expect(seen['function_json']).toEqual({ value: { sum: 5 }, result: null, json_result: { sum: 5 } });
    for (const name of ['class_cloudpickle', 'class_json']) {
      expect(seen[name], name).toMatchObject({ values: [15, 20], same_instance: true });
    }
    for (const response of seen.responses) expect(response['error'], JSON.stringify(response)).toBeNull();
  });

  it.skipIf(!existsSync(PY310))(
    'sends instance timestamps that Python 3.10 parses and subtracts from now()',
    async () => {
      const seen = await drive(matched, 'class_json');
      const info = (seen['class_json'] as { instance_info: Record<string, unknown> }).instance_info;
      const check =
        'import json, sys\nfrom datetime import datetime\ninfo = json.loads(sys.argv[1])\n' +
        'ages = [(datetime.now() - datetime.fromisoformat(info[k])).total_seconds() for k in ("created_at", "last_used")]\n' +
        'print(json.dumps([sys.version_info[:2], [0 <= age < 600 for age in ages]]))';
      const out = execFileSync(PY310, ['-c', check, JSON.stringify(info)], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual([
        [3, 10],
        [true, true],
      ]);
    },
  );

  it('makes `modules` importable by the function and by a kept instance, and removes them after', async () => {
    const seen = await drive(matched, 'modules_function', 'modules_class');
    const fn = seen['modules_function'] as Record<string, unknown>;
    expect((fn['value'] as unknown[])[0]).toBe('>> HI!');
    expect(fn).toMatchObject({ dir_left: false, import_later: false });
    expect(fn['later_error']).toMatch(/^ModuleNotFoundError: No module named 'utils'/);
    const cls = seen['modules_class'] as Record<string, unknown>;
    expect((cls['values'] as unknown[][]).map((value) => value[0])).toEqual(['>> ADA!', '>> ADA!']);
    expect(cls).toMatchObject({ released: { released: true }, dir_left: false });
  });

  it('ignores an unknown field with a warning in `logs`, and says "not found" naming what is missing', async () => {
    const seen = await drive(matched, 'unknown_field', 'not_found');
    const unknown = seen['unknown_field'] as Record<string, unknown>;
    expect(unknown['value']).toBe(1);
    expect(unknown['logs']).toContain('a_field_from_the_future');
    const { errors } = seen['not_found'] as { errors: string[] };
    expect(errors[0]).toMatch(/'absent' not found/);
    expect(errors[1]).toMatch(/'Absent' not found/);
    expect(errors[2]).toMatch(/'absent_method' not found/);
    expect(errors[2]).toContain('increment'); // podkeeper's facts kept: what the class does have
  });

  it('unpickles a lambda from the client when the cloudpickles match, and names both versions when not', async () => {
    const good = await drive(matched, 'lambda_argument');
    expect(good['lambda_argument']).toEqual({ value: 42, error_type: null });

    const bad = await drive(mismatched, 'lambda_argument', 'lambda_argument_versioned');
    const plain = bad['lambda_argument'] as Record<string, string>;
    expect(plain['error_type']).toBe('SerializationError');
    expect(plain['value']).toContain('cloudpickle 2.2.1');
    const versioned = bad['lambda_argument_versioned'] as Record<string, string>;
    expect(versioned['error_type']).toBe('SerializationError');
    expect(versioned['value']).toContain('cloudpickle 2.2.1');
    expect(versioned['value']).toContain(`cloudpickle ${versioned['client']}`);
  });
});
