/** Framing faults on the control socket: each request is answered once, with its id, and the connection goes on. */
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from './daemon-helpers.js';

const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

describe('the control socket refuses what it cannot carry exactly, naming the request', () => {
  it('answers each malformed line with a code and keeps the connection usable', async () => {
    const daemon = await startDaemon({ config: { maxLineLength: 4096 } });
    const client = await rawConnect(daemon.socket);
    const call = (id: string, input: string) =>
      `{"id":"${id}","action":"call","payload":{"target":"echo","input":${input}}}\n`;

    client.socket.write(Buffer.from(call('u8', '"caf\xc3"'), 'latin1'));
    expect(await client.answer('u8')).toMatchObject({
      success: false,
      error: { code: 'BAD_REQUEST', reason: 'utf8' },
    });

    for (const [id, input] of [
      ['inf', '1e400'],
      ['big', '18446744073709551617'],
      ['lost', '9007199254740993'],
    ] as const) {
      client.write(call(id, input));
      const answer = await client.answer(id);
      expect(answer).toMatchObject({ success: false, error: { code: 'UNREPRESENTABLE' } });
      expect(JSON.stringify(answer)).toContain(input);
    }
    client.write('{"id":1.0,"action":"status"}\n');
    const fractional = await client.waitFor((line) => line['success'] === false && line['id'] === null);
    expect(fractional).toMatchObject({
      error: { code: 'UNREPRESENTABLE', message: expect.stringContaining('1.0') },
    });

    client.write(`{"id":"long","action":"status","payload":{"pad":"${'p'.repeat(5000)}"}}\n`);
    expect(await client.answer('long')).toMatchObject({ error: { code: 'BAD_REQUEST', reason: 'too-long' } });

    client.write('{"id":"nul","action":"status"\u0000}\n');
    expect(await client.answer('nul')).toMatchObject({ error: { code: 'BAD_REQUEST', reason: 'json' } });

    for (const byte of call('bytes', '{"t":"ż🐢"}')) client.socket.write(Buffer.from(byte));
    expect(await client.answer('bytes')).toMatchObject({ success: true, result: { t: 'ż🐢' } });

    client.write(call('crlf', '[1]').replace('\n', '\r\n'));
    expect(await client.answer('crlf')).toMatchObject({ success: true, result: [1] });

    client.write('{"id":"dup-1","id":"dup-2","action":"status"}\n');
    expect(await client.answer('dup-2')).toMatchObject({ success: true });

    client.write(call('proto', '{"__proto__":{"x":1}}'));
    const proto = await client.answer('proto');
    expect(Object.keys(proto['result'] as object)).toEqual(['__proto__']);

    client.write(call('status-after', '"ok"'));
    expect(await client.answer('status-after')).toMatchObject({ success: true, result: 'ok' });
    expect(client.received.filter((line) => 'success' in line)).toHaveLength(12);
    expect(daemon.child.exitCode).toBeNull();
  }, 30_000);

  it('answers input nested 100,000 deep with its id, and the pod goes on serving', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.write(`{"id":"deep","action":"call","payload":{"target":"echo","input":${deep(100_000)}}}\n`);
    expect(await client.answer('deep')).toMatchObject({ success: false, error: { code: 'BAD_REQUEST' } });
    client.write('{"id":"after","action":"call","payload":{"target":"echo","input":[[[1]]]}}\n');
    expect(await client.answer('after')).toMatchObject({ success: true, result: [[[1]]] });
  }, 30_000);
});
