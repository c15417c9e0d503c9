/**
 * The python-exec recipe through a real daemon: functions and classes in both serializations,
 * instances that persist across calls and clients, per-request output capture under concurrency,
 * per-request dependencies, failures that leave the pod serving, async and streaming, deployed mode.
 */
import { describe, expect, it } from 'vitest';
import type { RawConnection } from './daemon-helpers.js';
import {
  callExecute,
  connectExec,
  execSetup,
  execute,
  type FunctionResponse,
  pickle,
  py,
  startExecDaemon,
  unpickle,
} from './python-exec-helpers.js';

const setup = execSetup();

async function open(): Promise<RawConnection> {
  return connectExec(await startExecDaemon(setup));
}

/** The pid of the python-exec pod, asked through the pod itself. */
async function podPid(conn: RawConnection): Promise<number> {
  const out = await execute(conn, {
    function_name: 'pid',
    function_code: py('import os', 'def pid():', '    return os.getpid()'),
    serialization: 'json',
  });
  return out['json_result'] as number;
}

const COUNTER = py(
  'class Counter:',
  '    def __init__(self, start=0, step=1):',
  '        self.value = start',
  '        self.step = step',
  '    def increment(self, by=None):',
  '        self.value += self.step if by is None else by',
  '        return self.value',
  '    def __call__(self):',
  '        return {"value": self.value}',
);

describe('python-exec: functions', () => {
  it('runs a function with json values and with cloudpickle values', async () => {
    const conn = await open();
    const code = py('def scale(values, factor=2):', '    return [v * factor for v in values]');

    const json = await execute(conn, {
      function_name: 'scale',
      function_code: code,
      args: [[1, 2]],
      kwargs: { factor: 3 },
      serialization: 'json',
    });
    expect(json).toMatchObject({ success: true, result: null, json_result: [3, 6], stdout: '' });

    const [values, factor] = pickle([1, 2], 10);
    const pickled = await execute(conn, {
      function_name: 'scale',
      function_code: code,
      args: [values],
      kwargs: { factor },
    });
    expect(pickled.success).toBe(true);
    expect(typeof pickled.result).toBe('string');
    expect(unpickle(pickled.result as string)).toEqual([[10, 20]]);
  });
});

describe('python-exec: classes', () => {
  it('keeps an instance over 3 calls and across two clients, in both serializations', async () => {
    const daemon = await startExecDaemon(setup);
    const first = await connectExec(daemon);
    const second = await connectExec(daemon); // another client: its own connection

    const created = await execute(first, {
      execution_type: 'class',
      class_name: 'Counter',
      class_code: COUNTER,
      constructor_args: [10],
      method_name: 'increment',
      serialization: 'json',
    });
    expect(created).toMatchObject({ success: true, json_result: 11, instance_created: true });
    const id = created['instance_id'] as string;
    expect(id).toMatch(/^Counter_[0-9a-f]{8}$/);

    const again = {
      execution_type: 'class',
      class_name: 'Counter',
      instance_id: id,
      create_new_instance: false,
    };
    expect(await execute(first, { ...again, method_name: 'increment', serialization: 'json' })).toMatchObject(
      {
        json_result: 12,
        instance_created: false,
      },
    );
    const third = await execute(second, {
      ...again,
      method_name: 'increment',
      args: [5],
      serialization: 'json',
    });
    expect(third).toMatchObject({ json_result: 17, instance_id: id, instance_created: false });
    expect(third['instance_info']).toMatchObject({ class_name: 'Counter', method_calls: 3 });
    const info = third['instance_info'] as Record<string, string>;
    expect(Date.parse(info['last_used'] ?? '')).toBeGreaterThanOrEqual(Date.parse(info['created_at'] ?? ''));

    // cloudpickle: constructor and method arguments pickled; the default method is __call__.
    const [start, step] = pickle(100, 5);
    const pickled = await execute(second, {
      execution_type: 'class',
      class_name: 'Counter',
      class_code: COUNTER,
      constructor_args: [start],
      constructor_kwargs: { step },
      instance_id: 'shared-counter',
    });
    expect(unpickle(pickled.result as string)).toEqual([{ value: 100 }]);
    const stepped = await execute(first, {
      ...again,
      instance_id: 'shared-counter',
      method_name: 'increment',
    });
    expect(unpickle(stepped.result as string)).toEqual([105]);

    const listed = (await callExecute(first, {}, 'process'))['result'] as {
      instances: { instance_id: string }[];
    };
    expect(listed.instances.map((i) => i.instance_id)).toEqual([id, 'shared-counter']);
  });
});

describe('python-exec: output capture', () => {
  it('keeps the stdout, stderr and logging of two concurrent requests apart', async () => {
    const conn = await open();
    // Both requests wait for each other at a barrier, then write in turns: they truly overlap.
    const code = py(
      'import builtins, logging, sys, threading',
      'def chat(tag):',
      '    barrier = builtins.__dict__.setdefault("_pk_test_barrier", threading.Barrier(2, timeout=20))',
      '    barrier.wait()',
      '    for i in range(5):',
      '        print(f"{tag} out {i}")',
      '        print(f"{tag} err {i}", file=sys.stderr)',
      '        logging.getLogger(tag).info("%s log %d", tag, i)',
      '        barrier.wait()',
      '    return tag',
    );
    const ask = (tag: string) =>
      callExecute(conn, { function_name: 'chat', function_code: code, args: [tag], serialization: 'json' });
    const [a, b] = await Promise.all([ask('A'), ask('B')]);
    const lines = (tag: string) =>
      [0, 1, 2, 3, 4].flatMap((i) => [`${tag} out ${i}`, `${tag} err ${i}`, `INFO:${tag}:${tag} log ${i}`]);
    expect((a['result'] as FunctionResponse).stdout).toBe(`${lines('A').join('\n')}\n`);
    expect((b['result'] as FunctionResponse).stdout).toBe(`${lines('B').join('\n')}\n`);
  });

  it('keeps concurrent async requests apart too (one event loop, one context per task)', async () => {
    const conn = await open();
    const code = py(
      'import asyncio, builtins',
      'async def chat(tag):',
      '    arrived = builtins.__dict__.setdefault("_pk_test_arrived", set())',
      '    arrived.add(tag)',
      '    while len(arrived) < 2:',
      '        await asyncio.sleep(0.005)',
      '    for i in range(5):',
      '        print(f"{tag} {i}")',
      '        await asyncio.sleep(0)',
      '    return tag',
    );
    const ask = (tag: string) =>
      callExecute(conn, { function_name: 'chat', function_code: code, args: [tag], serialization: 'json' });
    const [a, b] = await Promise.all([ask('A'), ask('B')]);
    expect(a['result']).toMatchObject({
      success: true,
      json_result: 'A',
      stdout: 'A 0\nA 1\nA 2\nA 3\nA 4\n',
    });
    expect(b['result']).toMatchObject({
      success: true,
      json_result: 'B',
      stdout: 'B 0\nB 1\nB 2\nB 3\nB 4\n',
    });
  });
});

describe('python-exec: per-request dependencies', () => {
  it('installs a missing dependency once, into the pod env, importable at once, and reuses it', async () => {
    const conn = await open();
    const request = {
      function_name: 'use',
      function_code: py(
        'import os',
        'def use():',
        '    import pk_exec_dep',
        '    return [pk_exec_dep.VALUE, os.getpid()]',
      ),
      dependencies: ['pk-exec-dep==1.0.0'],
      serialization: 'json',
    };
    const first = await execute(conn, request);
    expect(first).toMatchObject({
      success: true,
      dependencies: { installed: ['pk-exec-dep==1.0.0'], already_satisfied: [] },
    });
    const second = await execute(conn, request);
    expect(second).toMatchObject({
      success: true,
      dependencies: { installed: [], already_satisfied: ['pk-exec-dep==1.0.0'] },
    });
    const [value, pid] = first['json_result'] as [number, number];
    expect(value).toBe(42);
    expect(second['json_result']).toEqual([42, pid]); // the same pod: no restart

    // Two requests needing the same missing package at once: one installs, the other waits and reuses.
    const other = {
      function_name: 'use',
      function_code: py('def use():', '    import pk_exec_other', '    return pk_exec_other.VALUE'),
      dependencies: ['pk-exec-other'],
      serialization: 'json',
    };
    const both = (await Promise.all([execute(conn, other), execute(conn, other)])).map(
      (r) => (r['dependencies'] as { installed: string[] }).installed,
    );
    expect(both.sort()).toEqual([[], ['pk-exec-other==2.0.0']]);
  });

  it('answers a dependency that cannot be installed with success false, naming it', async () => {
    const conn = await open();
    const out = await execute(conn, {
      function_name: 'f',
      function_code: py('def f():', '    return 1'),
      dependencies: ['pk-exec-missing==9.9'],
      serialization: 'json',
    });
    expect(out).toMatchObject({ success: false, error_type: 'DependencyError' });
    expect(out['error']).toContain('pk-exec-missing');
  });
});

describe('python-exec: failures', () => {
  it('answers a syntax error, a missing function and an exception with success false, and keeps serving', async () => {
    const conn = await open();
    const pid = await podPid(conn);

    const syntax = await execute(conn, {
      function_name: 'f',
      function_code: py('def f(x)', '    return x'),
      serialization: 'json',
    });
    expect(syntax).toMatchObject({ success: false, result: null, error_type: 'SyntaxError' });
    expect(syntax['traceback']).toContain('def f(x)');
    expect(syntax['error']).toMatch(/^SyntaxError: /);

    const missing = await execute(conn, {
      function_name: 'g',
      function_code: py('def f():', '    return 1', 'def h():', '    return 2'),
      serialization: 'json',
    });
    expect(missing).toMatchObject({ success: false, error_type: 'NotFoundError' });
    expect(missing['error']).toContain("function 'g' not found in `function_code` (it defines: f, h)");

    const [zero] = pickle(0);
    const raised = await execute(conn, {
      function_name: 'divide',
      function_code: py('def divide(d):', '    print("about to divide")', '    return 1 / d'),
      args: [zero],
    });
    expect(raised).toMatchObject({
      success: false,
      error_type: 'ZeroDivisionError',
      stdout: 'about to divide\n',
    });
    expect(raised['traceback']).toMatch(
      /File "<function_code [0-9a-f]+>", line 3, in divide\n {4}return 1 \/ d/,
    );
    expect(raised['error']).toMatch(/^ZeroDivisionError: division by zero\nTraceback/);
    expect(typeof raised['exception']).toBe('string'); // the exception itself, for Python clients
    expect(unpickle(raised['exception'] as string)).toEqual(["ZeroDivisionError('division by zero')"]);

    const exited = await execute(conn, {
      function_name: 'leave',
      function_code: py('import sys', 'def leave():', '    sys.exit(3)'),
      serialization: 'json',
    });
    expect(exited).toMatchObject({ success: false, error_type: 'SystemExit' });

    expect(await podPid(conn)).toBe(pid); // the same pod served every one of them
  });

  it('answers a malformed request with success false naming the field', async () => {
    const conn = await open();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ function_code: 'x = 1' }, 'RequestError', '`function_name` is required'],
      [{ function_name: 'f', args: {} }, 'RequestError', '`args` must be an array, got an object'],
      [
        { function_name: 'f', serialization: 'json', serialization_format: 'cloudpickle' },
        'RequestError',
        "`serialization_format` ('cloudpickle') and its alias `serialization` ('json') disagree",
      ],
      [
        { function_name: 'f', function_code: 'def f(): return 1', modules: { '../escape.py': '' } },
        'RequestError',
        "`modules` key '../escape.py' must be a relative POSIX path",
      ],
      [
        { function_name: 'f', function_code: 'def f(x): return x', args: [1] },
        'SerializationError',
        '`args[0]`',
      ],
      [
        { function_name: 'f', function_code: 'def f(): return {1, 2}', serialization: 'json' },
        'SerializationError',
        'not JSON serialisable',
      ],
    ];
    for (const [request, type, text] of cases) {
      const out = await execute(conn, request);
      expect(out, JSON.stringify(request)).toMatchObject({ success: false, error_type: type });
      expect(out['error']).toContain(text);
    }
  });
});

describe('python-exec: async and streaming', () => {
  it('awaits async functions and methods and streams generator items as chunks', async () => {
    const conn = await open();
    const asyncFn = await execute(conn, {
      function_name: 'later',
      function_code: py(
        'import asyncio',
        'async def later(x):',
        '    await asyncio.sleep(0.01)',
        '    return x + 1',
      ),
      args: [1],
      serialization: 'json',
    });
    expect(asyncFn).toMatchObject({ success: true, json_result: 2 });

    const asyncMethod = await execute(conn, {
      execution_type: 'class',
      class_name: 'Box',
      class_code: py(
        'import asyncio',
        'class Box:',
        '    async def fetch(self, key):',
        '        await asyncio.sleep(0)',
        '        return {"key": key}',
      ),
      method_name: 'fetch',
      args: ['k'],
      serialization: 'json',
    });
    expect(asyncMethod).toMatchObject({ success: true, json_result: { key: 'k' } });

    for (const code of [
      py('def count(n):', '    for i in range(n):', '        yield i * 10', '    return "done"'),
      py(
        'import asyncio',
        'async def count(n):',
        '    for i in range(n):',
        '        await asyncio.sleep(0)',
        '        yield i * 10',
      ),
    ]) {
      const id = `stream-${code.length}`;
      conn.send({
        id,
        action: 'call',
        payload: {
          target: 'python-exec',
          action: 'execute',
          input: { function_name: 'count', function_code: code, args: [3], serialization: 'json' },
        },
      });
      const answer = await conn.answer(id, 30_000);
      const chunks = conn.received.filter((line) => line['id'] === id && line['type'] === 'chunk');
      expect(chunks.map((line) => line['data'])).toEqual([
        { index: 0, result: 0 },
        { index: 1, result: 10 },
        { index: 2, result: 20 },
      ]);
      expect(answer['result']).toMatchObject({ success: true, chunks: 3 });
    }
  });
});

describe('python-exec: deployed mode', () => {
  it('routes requests without code to podkeeper.manifest.json', async () => {
    const conn = await open();
    expect(
      await execute(conn, { function_name: 'hello', args: ['Ada'], serialization: 'json' }),
    ).toMatchObject({
      success: true,
      json_result: 'Hello, Ada!',
      stdout: 'greeting Ada\n',
    });
    expect(
      await execute(conn, { function_name: 'hello_later', kwargs: { name: 'Bo' }, serialization: 'json' }),
    ).toMatchObject({ success: true, json_result: 'Hello, Bo, a little later!' });
    const greeter = {
      execution_type: 'class',
      class_name: 'Greeter',
      method_name: 'greet',
      serialization: 'json',
    };
    const first = await execute(conn, { ...greeter, instance_id: 'g1', args: ['Ann'] });
    expect(first).toMatchObject({ success: true, json_result: 'Hello, Ann! (1 so far)' });
    const second = await execute(conn, {
      ...greeter,
      instance_id: 'g1',
      create_new_instance: false,
      args: ['Bob'],
    });
    expect(second).toMatchObject({ success: true, json_result: 'Hello, Bob! (2 so far)' });

    const unknown = await execute(conn, { function_name: 'nope', serialization: 'json' });
    expect(unknown).toMatchObject({ success: false, error_type: 'NotFoundError' });
    expect(unknown['error']).toContain('podkeeper.manifest.json deploys: count_up, hello, hello_later');

    const info = (await callExecute(conn, {}, 'process'))['result'];
    expect(info).toMatchObject({
      deployed: { functions: ['count_up', 'hello', 'hello_later'], classes: ['Greeter'] },
    });
  });
});
