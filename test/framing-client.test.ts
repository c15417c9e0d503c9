/** The TS client never leaves a call waiting on a reply it cannot read. */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { PodkeeperClient } from '../src/client/client.js';

const clients: PodkeeperClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

/** A client whose "daemon" is this test: `fromClient` has its requests, `toClient` takes our lines. */
function open(maxLineLength?: number) {
  const toClient = new PassThrough();
  const fromClient = new PassThrough();
  const client = new PodkeeperClient(toClient, fromClient, { maxLineLength, name: 'test daemon' });
  clients.push(client);
  const requests: Record<string, unknown>[] = [];
  let buffered = '';
  fromClient.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) requests.push(JSON.parse(line) as Record<string, unknown>);
  });
  const nextRequest = async () => {
    while (requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    return requests.shift() as { id: string; action: string };
  };
  return { client, toClient, requests, nextRequest };
}

describe('PodkeeperClient reply handling', () => {
  it('rejects the call whose reply breaks the response schema with BAD_RESPONSE', async () => {
    const { client, toClient, nextRequest } = open();
    const status = client.status();
    const { id } = await nextRequest();
    toClient.write(`${JSON.stringify({ id, success: 'yes' })}\n`);
    await expect(status).rejects.toMatchObject({ code: 'BAD_RESPONSE', details: { requestId: id } });
    expect(client.pending).toBe(0);
  });

  it('rejects the call whose reply is longer than the limit with RESPONSE_TOO_LONG, and goes on', async () => {
    const { client, toClient, nextRequest, requests } = open(1024);
    const call = client.call('echo', 'x');
    const { id } = await nextRequest();
    toClient.write(`${JSON.stringify({ id, success: true, result: 'r'.repeat(5000) })}\n`);
    await expect(call).rejects.toMatchObject({
      code: 'RESPONSE_TOO_LONG',
      message: expect.stringMatching(/50\d\d bytes.*1024/),
    });
    const status = client.status();
    const next = await nextRequest();
    toClient.write(`${JSON.stringify({ id: next.id, success: true, result: { ok: 1 } })}\n`);
    expect(await status).toEqual({ ok: 1 });
    expect(requests).toEqual([]);
  });

  it('rejects a call whose streamed chunk is too long and asks the daemon to cancel it', async () => {
    const { client, toClient, nextRequest } = open(1024);
    const call = client.call('stream', 'x');
    const { id } = await nextRequest();
    toClient.write(`${JSON.stringify({ type: 'chunk', id, data: 'd'.repeat(5000) })}\n`);
    await expect(call).rejects.toMatchObject({ code: 'RESPONSE_TOO_LONG' });
    expect(await nextRequest()).toMatchObject({ action: 'cancel', payload: { id } });
  });

  it('rejects the call whose reply carries an inexact number or bad UTF-8', async () => {
    const { client, toClient, nextRequest } = open();
    const first = client.status();
    const a = await nextRequest();
    toClient.write(`{"id":"${a.id}","success":true,"result":{"n":18446744073709551617}}\n`);
    await expect(first).rejects.toMatchObject({ code: 'UNREPRESENTABLE' });
    const second = client.status();
    const b = await nextRequest();
    toClient.write(Buffer.from(`{"id":"${b.id}","success":true,"result":"caf\xc3"}\n`, 'latin1'));
    await expect(second).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
  });

  it('ends the connection on an unreadable line that names no request, so no call waits forever', async () => {
    const { client, toClient, nextRequest } = open();
    const status = client.status();
    await nextRequest();
    toClient.write('garbage that names nobody\n');
    await expect(status).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    await client.closed;
  });
});
