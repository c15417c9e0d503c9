/**
 * An error line from the daemon that names no request (`id: null`: a line it could not read at all)
 * reaches the TS client's user as an 'error' event; when exactly one request is pending, the line can
 * only have been that request's, and it fails with the daemon's error instead of waiting forever.
 */
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PodkeeperClient } from '../src/client/client.js';
import type { PodkeeperError } from '../src/errors.js';
import { startDaemon } from './daemon-helpers.js';
import { eventually, onCleanup } from './helpers.js';

/** Resolves once the client's same-tick batch of lines has been handed to the socket. */
function afterFlush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A client on a real socket to a real daemon, and the socket itself to write what the client would not. */
async function connected() {
  const daemon = await startDaemon();
  const socket = createConnection(daemon.socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const client = new PodkeeperClient(socket, socket, { name: 'test daemon' });
  onCleanup(() => client.close());
  const errors: PodkeeperError[] = [];
  client.events.on('error', (error) => errors.push(error));
  return { client, socket, errors };
}

describe('daemon errors that name no request', () => {
  it('fail the only pending call with the daemon’s code and are emitted as error', async () => {
    const { client, socket, errors } = await connected();
    expect(await client.call('echo', 1)).toBe(1);
    const hanging = client.call('hang', { cooperative: true }).catch((e: unknown) => e);
    expect(client.pending).toBe(1);
    await afterFlush(); // the call's line is on the socket before ours
    socket.write('this line is not JSON\n');
    expect(await hanging).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/not valid JSON/),
    });
    expect(errors).toEqual([expect.objectContaining({ code: 'BAD_REQUEST' })]);
    expect(client.pending).toBe(0);
    expect(await client.call('echo', 2)).toBe(2);
  });

  it('are only emitted while two calls are pending: neither can be told to be the one', async () => {
    const { client, socket, errors } = await connected();
    const calls = [1, 2].map(() => client.call('hang', { cooperative: true }).catch((e: unknown) => e));
    expect(client.pending).toBe(2);
    await afterFlush();
    socket.write('{"broken\n');
    expect(await eventually(() => errors.length === 1)).toBe(true);
    expect(errors[0]).toMatchObject({ code: 'BAD_REQUEST' });
    expect(client.pending).toBe(2);
    await client.close();
    for (const call of await Promise.all(calls)) expect(call).toMatchObject({ code: 'CHANNEL_CLOSED' });
  });
});
