/**
 * Big values go through the daemon as the bytes they came as (src/transport/raw-json.ts): the daemon
 * parses only the envelope of a long call line, so the pod gets the client's JSON unchanged, and
 * whatever is wrong inside it is answered by the pod, with a code, for that request alone.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/index.js';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { createManager, FIXTURE_RECIPES, onCleanup } from './helpers.js';

/** Over 64 KiB of JSON items: enough for the daemon to relay the input unparsed. */
const LIST = `[${Array.from({ length: 4000 }, (_, i) => `{"n":${i},"s":"a\\"}]\\\\ż"}`).join(',')}]`;

const call = (id: string, target: string, input: string) =>
  `{"id":"${id}","action":"call","payload":{"target":"${target}","input":${input}}}\n`;

describe('big inputs relayed unparsed', () => {
  it('hands the pod an integer no double can hold, exactly as the client wrote it', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.write(call('exact', 'inspect', `{"list":${LIST},"exact":123456789012345678901234567890}`));
    expect(await client.answer('exact')).toMatchObject({
      success: true,
      result: { exact: '123456789012345678901234567890', items: 4000 },
    });
    // a short line is still held to what a double carries
    client.write(call('short', 'inspect', '{"exact":123456789012345678901234567890}'));
    expect(await client.answer('short')).toMatchObject({ error: { code: 'UNREPRESENTABLE' } });
  }, 30_000);

  it('answers a malformed big input with a code for that request alone, while another is in flight', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.write(call('slow', 'inspect', '{"slow":true}'));
    await client.waitFor((line) => line['id'] === 'slow' && line['type'] === 'progress'); // in the pod now
    client.write(call('commas', 'inspect', `{"list":${LIST.replace('},{', '},,{')}}`));
    expect(await client.answer('commas')).toMatchObject({ success: false, error: { code: 'BAD_REQUEST' } });
    const badUtf8 = Buffer.concat([
      Buffer.from(call('utf8', 'inspect', `{"list":${LIST},"s":"caf`).slice(0, -3)),
      Buffer.from([0xc3, 0x22, 0x7d, 0x7d, 0x7d, 0x0a]), // "caf\xc3"}}}\n
    ]);
    client.socket.write(badUtf8);
    expect(await client.answer('utf8')).toMatchObject({ success: false, error: { code: 'BAD_REQUEST' } });
    expect(client.received.find((line) => line['id'] === 'slow' && 'success' in line)).toBeUndefined();
    client.write(call('release', 'inspect', `{"list":${LIST}}`));
    expect(await client.answer('release')).toMatchObject({ success: true, result: { items: 4000 } });
    expect(await client.answer('slow')).toMatchObject({ success: true, result: { slow: true } });
  }, 30_000);

  it('carries a big JSON value and bytes in one call, both ways', async () => {
    const daemon = await startDaemon();
    const client = await connect({ home: daemon.home });
    onCleanup(() => client.close());
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
    const input = { list: JSON.parse(LIST) as unknown[], data, tail: 'end' };
    const result = (await client.call('echo', input)) as typeof input;
    expect(Buffer.isBuffer(result.data)).toBe(true);
    expect(result.data.equals(data)).toBe(true);
    expect(result.list).toEqual(input.list);
    expect(result.tail).toBe('end');
  }, 30_000);

  it('fails a call whose big answer is not UTF-8, with a code, in-process and through the daemon', async () => {
    const manager = createManager({ recipePath: [FIXTURE_RECIPES] });
    await expect(manager.call('inspect', {}, { action: 'bad_utf8' })).rejects.toMatchObject({
      code: 'BAD_RESPONSE',
      details: { reason: 'utf8' },
    });
    const daemon = await startDaemon();
    const client = await connect({ home: daemon.home });
    onCleanup(() => client.close());
    await expect(client.call('inspect', {}, { action: 'bad_utf8' })).rejects.toMatchObject({
      details: { reason: 'utf8' },
    });
    expect(await client.call('inspect', { list: [1] })).toMatchObject({ items: 1 }); // the connection goes on
  }, 30_000);

  it('never takes the frames of a malformed input for request lines, short line or long', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.write(call('victim', 'inspect', '{"slow":true}'));
    await client.waitFor((line) => line['id'] === 'victim' && line['type'] === 'progress');
    // Frames that read as requests to the pod: a shutdown, and calls on the ids it would give next.
    const smuggled = Buffer.from(
      `${[1, 2, 3, 4, 5, 6].map((n) => `{"id":"${n}","action":"process","payload":{"slow":true}}`).join('\n')}\n` +
        '{"id":"c9","action":"shutdown"}\nRIFF\u0000 audio\n',
    );
    for (const [id, pad] of [
      ['short', '1'],
      ['long', LIST],
    ] as const) {
      const input = `{"pad":${pad},"x":{"$bytes":0},"bad":tru}`;
      client.write(
        `{"id":"${id}","action":"call","payload":{"target":"inspect","input":${input}},"$frames":[${smuggled.length}]}\n`,
      );
      client.socket.write(smuggled);
      expect(await client.answer(id)).toMatchObject({ success: false, error: { code: 'BAD_REQUEST' } });
    }
    client.write(call('release', 'inspect', '{"exact":42}'));
    expect(await client.answer('release')).toMatchObject({ success: true, result: { exact: '42' } });
    expect(await client.answer('victim')).toMatchObject({ success: true, result: { slow: true } });
    client.write('{"id":"logs","action":"logs.tail","payload":{"target":"inspect","lines":200}}\n');
    const logs = JSON.stringify(await client.answer('logs'));
    expect(logs).not.toContain('unknown request');
    expect(logs).not.toContain('shutting down');
  }, 30_000);

  it('parses a short line with bytes whose input breaks the rules itself, and keeps a null input the default', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.write(
      '{"id":"exact","action":"call","payload":{"target":"inspect","input":{"a":{"$frames":[5]},"exact":123456789012345678901}}}\n',
    );
    expect(await client.answer('exact')).toMatchObject({ error: { code: 'UNREPRESENTABLE' } });
    client.write('{"id":"null","action":"call","payload":{"target":"inspect","input":null},"$frames":[0]}\n');
    client.socket.write(Buffer.alloc(0));
    expect(await client.answer('null')).toMatchObject({ success: true, result: { exact: 'None', items: 0 } });
  }, 30_000);
});
