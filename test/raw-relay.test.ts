/**
 * Big values go through the daemon as the bytes they came as (src/transport/raw-json.ts): the daemon
 * parses only the envelope of a long call line, so the pod gets the client's JSON unchanged, and
 * whatever is wrong inside it is answered by the pod, with a code, for that request alone.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/index.js';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { onCleanup } from './helpers.js';

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
});
