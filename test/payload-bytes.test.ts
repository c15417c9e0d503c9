/**
 * Bytes through the daemon and a real pod as binary frames (docs/protocol.md#bytes): exact round
 * trips at the sizes where framing could slip (empty, one byte, around the pipe and socket chunk
 * sizes, 100 MB), bytes and JSON calls interleaved on one connection, a cancel while a big answer
 * travels, a pod that dies halfway through a frame, malformed frame headers, and a client that does
 * not read frames getting base64.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/index.js';
import type { PodkeeperError } from '../src/errors.js';
import { type RawConnection, rawConnect, runCli, startDaemon } from './daemon-helpers.js';
import { onCleanup, tempDir } from './helpers.js';

const KIB = 1024;
const MB = 1000 * 1000;

function pattern(size: number, seed = 0): Buffer {
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 0xff;
  return data;
}

async function setup() {
  const daemon = await startDaemon();
  const client = await connect({ home: daemon.home });
  onCleanup(() => client.close());
  return { daemon, client };
}

async function raw(socket: string): Promise<RawConnection> {
  const connection = await rawConnect(socket);
  onCleanup(() => connection.close());
  return connection;
}

describe('bytes through the daemon', () => {
  it('round-trips bytes exactly at every size framing could get wrong, and the pod sees bytes', async () => {
    const { client } = await setup();
    for (const size of [0, 1, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 4 * 1024 * KIB + 1]) {
      const data = pattern(size, size);
      const back = (await client.call('bytes', { data, size })) as { data: Buffer; size: number };
      expect(Buffer.isBuffer(back.data), `size ${size}`).toBe(true);
      expect(back.data.equals(data), `size ${size}`).toBe(true);
      expect(back.size).toBe(size);
    }
    const described = await client.call('bytes', { data: pattern(1000) }, { action: 'describe' });
    const sum = [...pattern(1000)].reduce((a, b) => a + b, 0);
    expect(described).toEqual({ type: 'bytes', size: 1000, sum });
  }, 60_000);

  it('carries 100 MB each way', async () => {
    const { client } = await setup();
    const data = pattern(100 * MB, 7);
    const back = (await client.call('bytes', data)) as Buffer;
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
  }, 120_000);

  it('keeps bytes and JSON calls apart when they interleave on one connection', async () => {
    const { client } = await setup();
    const calls = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0
        ? client.call('bytes', { data: pattern(300 * KIB + i, i), i }).then((r) => ({ i, r }))
        : client.call('echo', { text: `json ${i}`, i }).then((r) => ({ i, r })),
    );
    for (const { i, r } of await Promise.all(calls)) {
      if (i % 2 === 1) expect(r).toEqual({ text: `json ${i}`, i });
      else expect((r as { data: Buffer }).data.equals(pattern(300 * KIB + i, i))).toBe(true);
    }
  }, 60_000);

  it('cancels calls while their bytes travel either way, and the connection goes on', async () => {
    const { client } = await setup();
    // Cancelled just after it is written: the daemon is still writing the 50 MB to the pod.
    const sending = client.call('bytes', pattern(50 * MB, 1));
    sending.cancel();
    await expect(sending).rejects.toMatchObject({ code: 'CANCELLED' });
    const handle = client.call('bytes', { size: 64 * MB, progress: true }, { action: 'make' });
    for await (const event of handle) {
      if (event.type === 'progress') break; // the pod is about to send 64 MB
    }
    handle.cancel();
    await expect(handle).rejects.toMatchObject({ code: 'CANCELLED' });
    const data = pattern(2 * MB, 3);
    expect(((await client.call('bytes', data)) as Buffer).equals(data)).toBe(true);
  }, 60_000);

  it('fails the call of a pod that dies halfway through a frame, and serves the next call', async () => {
    const { client } = await setup();
    const error = await client.call('bytes', {}, { action: 'die_mid_frame' }).catch((e: unknown) => e);
    expect((error as PodkeeperError).toJSON()).toMatchObject({ code: 'POD_CRASHED', exitCode: 3 });
    const data = pattern(100 * KIB);
    expect(((await client.call('bytes', data)) as Buffer).equals(data)).toBe(true);
  }, 60_000);

  it('refuses malformed frame headers with a coded error and stays usable', async () => {
    const { daemon } = await setup();
    const connection = await raw(daemon.socket);
    connection.write('{"id":"a","action":"status","$frames":"lots"}\n');
    expect(await connection.answer('a')).toMatchObject({
      success: false,
      error: { code: 'BAD_REQUEST', reason: 'frames' },
    });
    connection.write('{"id":"b","action":"status","$frames":[-1]}\n');
    expect(await connection.answer('b')).toMatchObject({ error: { code: 'BAD_REQUEST', reason: 'frames' } });
    // A reference to a frame that was not sent: the 3 bytes announced are read and skipped.
    connection.write(
      '{"id":"c","action":"call","payload":{"target":"bytes","input":{"$bytes":4}},"$frames":[3]}\nxyz',
    );
    expect(await connection.answer('c')).toMatchObject({ error: { code: 'BAD_REQUEST', reason: 'frames' } });
    connection.send({ id: 'd', action: 'call', payload: { target: 'echo', input: { ok: 1 } } });
    expect(await connection.answer('d')).toMatchObject({ success: true, result: { ok: 1 } });
  }, 60_000);

  it('answers a request that did not announce frames with base64, and reads bytes it sends', async () => {
    const { daemon } = await setup();
    const connection = await raw(daemon.socket);
    connection.send({
      id: 'm',
      action: 'call',
      payload: { target: 'bytes', action: 'make', input: { size: 5 } },
    });
    expect(await connection.answer('m')).toMatchObject({
      success: true,
      result: { data: { $base64: Buffer.from([0, 1, 2, 3, 4]).toString('base64') } },
    });
    // Frames in, base64 out: the request says `$frames` only for what it sends... and so reads frames.
    connection.write(
      '{"id":"n","action":"call","payload":{"target":"bytes","action":"describe","input":{"data":{"$bytes":0}}},"$frames":[4]}\nabcd',
    );
    const sum = [...Buffer.from('abcd')].reduce((a, b) => a + b, 0);
    expect(await connection.answer('n')).toMatchObject({
      success: true,
      result: { type: 'bytes', size: 4, sum },
    });
  }, 60_000);
});

describe('podkeeper call --input-file / --output-file', () => {
  it('sends a file as the input, writes the answer to a file, and prints bytes it does not write as base64', async () => {
    const daemon = await startDaemon();
    const dir = tempDir('pk-bytes-cli-');
    const input = join(dir, 'in.bin');
    const output = join(dir, 'out.bin');
    const data = pattern(3 * MB, 5);
    writeFileSync(input, data);
    const home = ['--home', daemon.home];

    const whole = await runCli([
      'call',
      'bytes',
      '--input-file',
      input,
      '--output-file',
      output,
      '--json',
      ...home,
    ]);
    expect(whole.stderr).toBe('');
    expect(JSON.parse(whole.stdout)).toEqual({ file: output, size: data.length });
    expect(readFileSync(output).equals(data)).toBe(true);

    const field = await runCli([
      'call',
      'bytes',
      '{"n":1}',
      '--input-file',
      input,
      '--input-field',
      'data',
      '--output-file',
      output,
      '--json',
      ...home,
    ]);
    expect(JSON.parse(field.stdout)).toEqual({ n: 1, data: { file: output, size: data.length } });
    expect(readFileSync(output).equals(data)).toBe(true);

    const shown = await runCli(['call', 'bytes', '{"size":3}', '--action', 'make', '--json', ...home]);
    expect(JSON.parse(shown.stdout)).toEqual({
      data: { $base64: Buffer.from([0, 1, 2]).toString('base64') },
    });

    const none = await runCli(['call', 'echo', '{"a":1}', '--output-file', join(dir, 'none.bin'), ...home]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('BAD_RESPONSE');
    expect(readdirSync(dir).sort()).toEqual(['in.bin', 'out.bin']); // nothing half-written
  }, 60_000);
});
