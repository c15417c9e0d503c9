/**
 * The handler test files, `recipes/python-exec/tests/test_*.json` (worker-tetra's request/expected
 * response style), fed in order to a real daemon's python-exec pod, one fresh daemon per file.
 *
 * A file: `{"description", "steps": [{"action"?: "execute", "input": {...}, "expect": {...}, "chunks"?: [...]}]}`.
 * `expect` is matched as a subset of the pod's result (the FunctionResponse for `execute`): objects
 * by their listed keys, arrays and scalars exactly, plus the matchers `{"$contains": text}`,
 * `{"$regex": pattern}`, `{"$type": "string" | "number" | ...}` and `{"$absent": true}`.
 * `chunks`, when given, are the `data` of the streamed chunk lines, exactly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawConnect } from './daemon-helpers.js';
import { EXEC_RECIPE, execSetup, startExecDaemon } from './python-exec-helpers.js';

interface Step {
  action?: string;
  input: unknown;
  expect: unknown;
  chunks?: unknown[];
}

const DIR = join(EXEC_RECIPE, 'tests');
const FILES = readdirSync(DIR)
  .filter((name) => /^test_.*\.json$/.test(name))
  .sort();
const setup = execSetup();

/** Every way `actual` differs from `expected`, each naming its path. */
function mismatches(actual: unknown, expected: unknown, path = '$'): string[] {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    const entries = Object.entries(expected);
    const [first] = entries;
    if (entries.length === 1 && first && first[0].startsWith('$'))
      return matcher(actual, first[0], first[1], path);
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    }
    const record = actual as Record<string, unknown>;
    return entries.flatMap(([key, value]) => {
      const absent = value !== null && typeof value === 'object' && '$absent' in value;
      if (absent)
        return key in record ? [`${path}.${key}: expected absent, got ${JSON.stringify(record[key])}`] : [];
      if (!(key in record)) return [`${path}.${key}: missing`];
      return mismatches(record[key], value, `${path}.${key}`);
    });
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: expected ${expected.length} items, got ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((value, index) => mismatches(actual[index], value, `${path}[${index}]`));
  }
  return actual === expected
    ? []
    : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

function matcher(actual: unknown, name: string, argument: unknown, path: string): string[] {
  const shown = JSON.stringify(actual);
  switch (name) {
    case '$contains':
      return typeof actual === 'string' && actual.includes(String(argument))
        ? []
        : [`${path}: expected a string containing ${JSON.stringify(argument)}, got ${shown}`];
    case '$regex':
      return typeof actual === 'string' && new RegExp(String(argument)).test(actual)
        ? []
        : [`${path}: expected a string matching /${String(argument)}/, got ${shown}`];
    case '$type': {
      const kind = actual === null ? 'null' : Array.isArray(actual) ? 'array' : typeof actual;
      return kind === argument ? [] : [`${path}: expected a ${String(argument)}, got ${shown}`];
    }
    default:
      return [`${path}: unknown matcher ${name}`];
  }
}

describe('mismatches()', () => {
  it('matches subsets and matchers, and names the path of each difference', () => {
    const actual = { a: 1, b: { c: 'hello world', d: [1, 2] }, e: null };
    expect(mismatches(actual, { b: { c: { $contains: 'world' }, d: [1, 2] }, x: { $absent: true } })).toEqual(
      [],
    );
    expect(mismatches(actual, { a: 2, b: { d: [1] }, e: { $type: 'null' }, f: 1 })).toEqual([
      '$.a: expected 2, got 1',
      '$.b.d: expected 1 items, got [1,2]',
      '$.f: missing',
    ]);
    expect(mismatches(actual, { b: { c: { $regex: '^world' } }, a: { $absent: true } })).toEqual([
      '$.b.c: expected a string matching /^world/, got "hello world"',
      '$.a: expected absent, got 1',
    ]);
  });
});

describe('python-exec handler test files', () => {
  it('cover function, class, persistence, custom method, dependencies, args, async, errors, output capture', () => {
    for (const topic of [
      'function',
      'class',
      'class_persistence',
      'class_custom_method',
      'dependencies',
      'function_args',
      'async',
      'error_scenarios',
      'output_capture',
      'deployed',
    ]) {
      expect(FILES).toContain(`test_${topic}.json`);
    }
  });

  it.each(FILES)('%s', async (file) => {
    const { steps } = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { steps: Step[] };
    const daemon = await startExecDaemon(setup);
    const conn = await rawConnect(daemon.socket);
    for (const [index, step] of steps.entries()) {
      const id = `${file}#${index}`;
      const action = step.action ?? 'execute';
      conn.send({
        id,
        action: 'call',
        payload: { target: 'python-exec', action, input: step.input, timeout: 60 },
      });
      const answer = await conn.answer(id, 60_000);
      expect(answer, `${id}: the protocol answer`).toMatchObject({ success: true });
      expect(mismatches(answer['result'], step.expect), `${id}: ${JSON.stringify(answer['result'])}`).toEqual(
        [],
      );
      if (step.chunks !== undefined) {
        const chunks = conn.received.filter((line) => line['id'] === id && line['type'] === 'chunk');
        expect(
          mismatches(
            chunks.map((line) => line['data']),
            step.chunks,
          ),
          `${id}: chunks`,
        ).toEqual([]);
      }
    }
  });
});
