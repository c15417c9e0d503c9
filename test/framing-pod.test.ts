/** Lines between the daemon and a real pod that cannot be carried: every request still gets one answer. */
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createManager, eventually, FIXTURE_RECIPES, recordEvents } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

function deep(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

/** A recipe whose answers the daemon cannot carry as they are. */
function oddAnswers(): string {
  const dir = writeRecipe({
    name: 'odd',
    code: [
      'import sys',
      'ACTIONS = ("big_int", "long_chunk", "long_stderr")',
      'def process(payload, ctx):',
      '    return payload',
      'def big_int(payload, ctx):',
      '    return {"n": 2**64 + 1}',
      'def long_chunk(payload, ctx):',
      '    yield "x" * payload',
      '    yield "short"',
      'def long_stderr(payload, ctx):',
      '    for _ in range(payload):',
      '        sys.stderr.write("e" * 1000)',
      '    sys.stderr.write("\\nafter\\n")',
      '    sys.stderr.flush()',
      '    return "written"',
      '',
    ].join('\n'),
  });
  return dirname(dir);
}

describe('answers longer than the line limit', () => {
  it('fail their request with RESPONSE_TOO_LONG naming the size and the limit; the pod goes on', async () => {
    const manager = createManager({ maxLineLength: 4096 });
    const error = await manager.call('echo', 'y'.repeat(10_000)).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'RESPONSE_TOO_LONG',
      message: expect.stringMatching(/10\d{3} bytes.*4096/),
      details: { limit: 4096 },
    });
    expect(await manager.call('echo', 'small')).toBe('small');
    const [pod] = await manager.list();
    expect(pod).toMatchObject({ state: 'ready', inFlight: 0 });
  });

  it('fail a request whose streamed chunk is too long, and free its slot once the pod ends it', async () => {
    const manager = createManager({ maxLineLength: 4096, recipePath: [FIXTURE_RECIPES, oddAnswers()] });
    const error = await manager.call('odd', 10_000, { action: 'long_chunk' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RESPONSE_TOO_LONG' });
    expect(await manager.call('odd', 'after')).toBe('after');
  });
});

describe('values a pod cannot be given or cannot answer exactly', () => {
  it('answers input nested 1,000 and 100,000 deep at once, and 40 of them never fill the pod', async () => {
    const manager = createManager();
    await expect(manager.call('echo', deep(1000))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(manager.call('echo', deep(100_000))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const many = Array.from({ length: 40 }, () => manager.call('echo', deep(1000)).catch((e: unknown) => e));
    for (const error of await Promise.all(many)) expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await manager.call('echo', deep(50))).toEqual(deep(50));
    const [pod] = await manager.list();
    expect(pod).toMatchObject({ state: 'ready', inFlight: 0 });
  }, 30_000);

  it('fails an answer carrying an integer beyond 2^53 with UNREPRESENTABLE instead of rounding it', async () => {
    const manager = createManager({ recipePath: [FIXTURE_RECIPES, oddAnswers()] });
    await expect(manager.call('odd', null, { action: 'big_int' })).rejects.toMatchObject({
      code: 'UNREPRESENTABLE',
      message: expect.stringContaining('18446744073709551617'),
    });
    expect(await manager.call('odd', { __proto__: null, a: 1 })).toEqual({ a: 1 });
  });
});

describe('stderr lines', () => {
  it('keeps a 4 MB stderr line (a progress bar without newlines) cut to its start, and the next line whole', async () => {
    const manager = createManager({ recipePath: [FIXTURE_RECIPES, oddAnswers()] });
    const events = recordEvents(manager);
    expect(await manager.call('odd', 4000, { action: 'long_stderr' })).toBe('written');
    const stderr = () =>
      events.flatMap((event) =>
        event.event === 'pod.log' && event.source === 'stderr' ? [event.message] : [],
      );
    expect(await eventually(() => stderr().includes('after'))).toBe(true);
    const long = stderr().find((message) => message.startsWith('eee'));
    expect(long?.length).toBeLessThan(70_000);
    expect(long).toContain('4000000 bytes');
  });
});
