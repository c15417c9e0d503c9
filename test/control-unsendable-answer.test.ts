/**
 * An answer the daemon cannot write as JSON (a pod result nested 30,000 deep decodes, but
 * JSON.stringify overflows the stack on it) is still an answer: the request's id with INTERNAL_ERROR.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { FIXTURE_RECIPES, tempDir } from './helpers.js';

/** A recipe that writes its answer line itself: a result nested `payload` deep. */
function deepAnswers(): string {
  const root = tempDir();
  const dir = join(root, 'deep');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'recipe.json'),
    JSON.stringify({ name: 'deep', capability: 'deep', entry: 'pod.py' }),
  );
  writeFileSync(
    join(dir, 'pod.py'),
    [
      'import gc, json, time',
      'from podkeeper_pod.channel import Channel',
      'ACTIONS = ("process", "chunk")',
      'def write(head, depth):',
      '    channel = next(o for o in gc.get_objects() if isinstance(o, Channel))',
      '    channel.send_line(head + b"[" * depth + b"]" * depth + b"}\\n")',
      'def process(payload, ctx):',
      '    write(b\'{"id":\' + json.dumps(ctx.request_id).encode() + b\',"success":true,"result":\', payload)',
      '    return "second answer, dropped by the daemon"',
      'def chunk(payload, ctx):',
      '    write(b\'{"type":"chunk","id":\' + json.dumps(ctx.request_id).encode() + b\',"data":\', payload)',
      '    while not ctx.cancelled:',
      '        time.sleep(0.01)',
      '    return "ended by its cancel"',
      '',
    ].join('\n'),
  );
  return root;
}

describe('an answer the control connection cannot serialise', () => {
  it('answers the request id with INTERNAL_ERROR, and the connection goes on', async () => {
    const daemon = await startDaemon({
      env: { PODKEEPER_RECIPE_PATH: [FIXTURE_RECIPES, deepAnswers()].join(delimiter) },
    });
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'shallow', action: 'call', payload: { target: 'deep', input: 3 } });
    expect(await client.answer('shallow')).toMatchObject({ success: true, result: [[[]]] });
    // 30,000 deep: a line under 64 KiB, which the daemon parses (a longer answer is relayed as its
    // bytes, unparsed: raw-relay.test.ts), and JSON.stringify overflows the stack on the value.
    client.send({ id: 'deep', action: 'call', payload: { target: 'deep', input: 30_000 } });
    expect(await client.answer('deep', 15_000)).toMatchObject({
      success: false,
      error: { code: 'INTERNAL_ERROR', message: expect.stringMatching(/cannot be written as JSON/) },
    });
    client.send({ id: 'after', action: 'call', payload: { target: 'echo', input: 1 } });
    expect(await client.answer('after')).toMatchObject({ success: true, result: 1 });
    expect(client.received.filter((line) => line['id'] === 'deep')).toHaveLength(1);
  }, 30_000);

  it('ends a request whose streamed chunk cannot be written: one INTERNAL_ERROR answer, then nothing', async () => {
    const daemon = await startDaemon({
      env: { PODKEEPER_RECIPE_PATH: [FIXTURE_RECIPES, deepAnswers()].join(delimiter) },
    });
    const client = await rawConnect(daemon.socket);
    client.send({
      id: 'chunk',
      action: 'call',
      payload: { target: 'deep', action: 'chunk', input: 100_000 },
    });
    expect(await client.answer('chunk', 15_000)).toMatchObject({
      success: false,
      error: { code: 'INTERNAL_ERROR', message: expect.stringMatching(/cannot be written as JSON/) },
    });
    // the pod runs one request at a time: this answer comes once the cancelled one has ended
    client.send({ id: 'after', action: 'call', payload: { target: 'deep', input: 2 } });
    expect(await client.answer('after')).toMatchObject({ success: true, result: [[]] });
    // Besides the daemon's `stage` lines about the pod starting, the failure is all it answered.
    expect(client.received.filter((line) => line['id'] === 'chunk' && line['stage'] === undefined)).toEqual([
      expect.objectContaining({ success: false }),
    ]);
  }, 30_000);
});
