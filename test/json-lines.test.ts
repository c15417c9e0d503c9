import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { isPodkeeperError } from '../src/errors.js';
import {
  type InvalidLine,
  JsonLinesChannel,
  type JsonLinesChannelOptions,
} from '../src/transport/json-lines.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const channels: JsonLinesChannel[] = [];

afterEach(() => {
  for (const channel of channels.splice(0)) channel.destroy();
});

function open(options?: JsonLinesChannelOptions, output = new PassThrough()) {
  const input = new PassThrough();
  const channel = new JsonLinesChannel(input, output, options);
  channels.push(channel);
  const messages: unknown[] = [];
  const invalid: InvalidLine[] = [];
  const closes: (Error | undefined)[] = [];
  channel.onMessage((message) => messages.push(message));
  channel.onInvalid((line) => invalid.push(line));
  channel.onClose((error) => closes.push(error));
  return { input, output, channel, messages, invalid, closes };
}

async function writeAll(input: PassThrough, chunks: Iterable<string | Buffer>) {
  for (const chunk of chunks) input.write(chunk);
  await tick();
}

function* bytes(text: string) {
  const buffer = Buffer.from(text);
  for (let i = 0; i < buffer.length; i++) yield buffer.subarray(i, i + 1);
}

describe('JsonLinesChannel reading', () => {
  it('frames a line written one byte at a time and many lines in one chunk', async () => {
    const { input, messages, invalid } = open();
    await writeAll(input, bytes('{"id":"a","payload":{"n":1}}\n'));
    expect(messages).toEqual([{ id: 'a', payload: { n: 1 } }]);
    await writeAll(input, [Array.from({ length: 500 }, (_, i) => `{"i":${i}}\n`).join('')]);
    expect(messages).toHaveLength(501);
    expect(messages[500]).toEqual({ i: 499 });
    expect(invalid).toEqual([]);
  });

  it('decodes multi-byte UTF-8 split across chunks, from Buffer and from string chunks', async () => {
    const text = { t: 'héllo wörld ж 😀 漢字' };
    const binary = open();
    await writeAll(binary.input, bytes(`${JSON.stringify(text)}\n`));
    expect(binary.messages).toEqual([text]);
    const decoded = open();
    decoded.input.setEncoding('utf8');
    await writeAll(decoded.input, bytes(`${JSON.stringify(text)}\n`));
    expect(decoded.messages).toEqual([text]);
  });

  it('reports a bad line with a preview and still delivers the next one', async () => {
    const { input, messages, invalid } = open({ name: 'pod-1' });
    const garbage = `not json ${'y'.repeat(300)}`;
    await writeAll(input, [`${garbage}\n{"ok":true}\n`]);
    expect(invalid).toMatchObject([
      { reason: 'json', preview: garbage.slice(0, 200), length: 309, name: 'pod-1' },
    ]);
    expect(messages).toEqual([{ ok: true }]);
  });

  it('tolerates CRLF and ignores empty lines', async () => {
    const { input, messages, invalid } = open();
    await writeAll(input, ['{"a":1}\r\n\r\n\n{"b"', ':2}\r', '\n']);
    expect(messages).toEqual([{ a: 1 }, { b: 2 }]);
    expect(invalid).toEqual([]);
  });

  it('delivers an unterminated last line before reporting close once', async () => {
    const { input, channel } = open();
    const events: unknown[] = [];
    channel.onMessage((message) => events.push(message));
    channel.onClose((error) => events.push(`close ${String(error)}`));
    input.end('{"first":1}\n{"last":2}');
    await tick();
    input.destroy();
    await tick();
    expect(events).toEqual([{ first: 1 }, { last: 2 }, 'close undefined']);
  });
});

describe('JsonLinesChannel line limit', () => {
  const good = '{"after":true}\n';

  it('drops a long line arriving in many chunks, reports it once, delivers the next line', async () => {
    const { input, messages, invalid } = open({ maxLineLength: 100, name: 'p' });
    await writeAll(input, ['{"start":"', ...Array.from({ length: 20 }, () => 'x'.repeat(30)), '"}\n', good]);
    expect(invalid).toHaveLength(1);
    // reported when the line ends, with its whole size; the preview is its start
    expect(invalid).toMatchObject([
      { reason: 'too-long', name: 'p', preview: `{"start":"${'x'.repeat(190)}`, length: 612 },
    ]);
    expect(messages).toEqual([{ after: true }]);
  });

  it('drops a complete long line inside one chunk, reports it once, delivers the next line', async () => {
    const { input, messages, invalid } = open({ maxLineLength: 100 });
    await writeAll(input, [`"${'x'.repeat(500)}"\n${good}`]);
    expect(invalid).toMatchObject([
      { reason: 'too-long', preview: `"${'x'.repeat(199)}`, length: 502, name: undefined },
    ]);
    expect(messages).toEqual([{ after: true }]);
  });

  it('catches a line that crosses the limit only when its last chunk arrives', async () => {
    const { input, messages, invalid } = open({ maxLineLength: 100 });
    await writeAll(input, [`"${'x'.repeat(90)}`, `${'x'.repeat(30)}"\n${good}`]);
    expect(invalid.map((line) => [line.reason, line.length])).toEqual([['too-long', 122]]);
    expect(messages).toEqual([{ after: true }]);
  });

  it('reports back-to-back long lines once each, from Buffer and from string chunks', async () => {
    for (const encoding of [undefined, 'utf8'] as const) {
      const { input, messages, invalid } = open({ maxLineLength: 50 });
      if (encoding) input.setEncoding(encoding);
      const long = 'z'.repeat(80);
      // the first ends and the second starts in one chunk; the third ends the input unterminated
      await writeAll(input, [long, `${long}\n${long}`, `${long}\n${good}${long}${long}`]);
      input.end();
      await tick();
      expect(invalid).toHaveLength(3);
      expect(messages).toEqual([{ after: true }]);
    }
  });

  it('rejects a bad maxLineLength with INVALID_OPTION', () => {
    const create = () => new JsonLinesChannel(new PassThrough(), new PassThrough(), { maxLineLength: 0 });
    expect(create).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});

describe('JsonLinesChannel writing', () => {
  it('writes one line per message, coalesced in order', async () => {
    const { channel, output } = open();
    await Promise.all([channel.send({ a: 1 }), channel.send('two'), channel.send([3])]);
    await tick();
    expect(output.read()?.toString()).toBe('{"a":1}\n"two"\n[3]\n');
  });

  it('holds sends while the output is full and resolves them in order as it drains', async () => {
    const output = new PassThrough({ highWaterMark: 16 });
    const { channel } = open({}, output);
    const resolved: number[] = [];
    const sends = [0, 1, 2, 3].map((i) =>
      channel.send({ i, pad: 'p'.repeat(20) }).then(() => void resolved.push(i)),
    );
    await tick();
    expect(resolved).toEqual([0]); // the first filled the buffer; the others wait for 'drain'
    sends.push(channel.send({ i: 4 }).then(() => void resolved.push(4)));
    await tick();
    expect(resolved).toEqual([0]);
    const received: string[] = [];
    output.setEncoding('utf8').on('data', (chunk: string) => received.push(chunk));
    await Promise.all(sends);
    expect(resolved).toEqual([0, 1, 2, 3, 4]);
    await tick();
    const lines = received.join('').trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it('ends the output only after queued lines are written, then rejects with CHANNEL_CLOSED', async () => {
    const output = new PassThrough({ highWaterMark: 8 });
    const { channel } = open({}, output);
    const first = channel.send({ first: 'x'.repeat(10) });
    await tick();
    const second = channel.send({ second: true });
    channel.end();
    expect(channel.writable).toBe(false);
    const rejected = await channel.send({ late: true }).catch((error: unknown) => error);
    expect(isPodkeeperError(rejected, 'CHANNEL_CLOSED')).toBe(true);
    const text = (await output.toArray()).join('');
    await Promise.all([first, second]);
    expect(text).toBe('{"first":"xxxxxxxxxx"}\n{"second":true}\n');
  });

  it('rejects sends after destroy with CHANNEL_CLOSED', async () => {
    const { channel, input, output } = open();
    channel.destroy();
    await expect(channel.send({})).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' });
    expect(input.destroyed && output.destroyed).toBe(true);
    expect(channel.writable).toBe(false);
  });

  it('survives an output error (EPIPE): queued sends reject, nothing throws', async () => {
    const output = new PassThrough({ highWaterMark: 4 });
    const { channel } = open({ name: 'pod-9' }, output);
    await channel.send({ fill: 'xxxxxxxx' });
    await tick();
    const queued = channel.send({ queued: true });
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    output.destroy(epipe);
    const error = await queued.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CHANNEL_CLOSED', cause: epipe, details: { channel: 'pod-9' } });
    await expect(channel.send({})).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' });
    expect(channel.writable).toBe(false);
  });

  it('sendLine queues serialized lines while blocked, counts what it holds, and keeps order with send', async () => {
    const output = new PassThrough({ highWaterMark: 16 });
    const { channel } = open({}, output);
    expect(channel.sendLine('{"n":0}')).toBe(true); // batched for this tick
    expect(channel.sendLine('{"n":0.5,"pad":"pppppppppppppppppppp"}')).toBe(false); // fills the output
    expect(channel.blocked).toBe(true);
    expect(channel.pendingLength).toBe(0);
    expect(channel.sendLine('{"n":1}')).toBe(false);
    const sent = channel.send({ n: 2 });
    expect(channel.sendLine('{"n":3}')).toBe(false);
    expect(channel.pendingLength).toBe('{"n":1}\n{"n":2}\n{"n":3}\n'.length);
    const text = output.setEncoding('utf8').toArray();
    channel.end(); // once the queue is written
    await sent;
    const lines = (await text).join('').trimEnd().split('\n');
    expect(channel.pendingLength).toBe(0);
    expect(lines.map((line) => (JSON.parse(line) as { n: number }).n)).toEqual([0, 0.5, 1, 2, 3]);
    expect(channel.sendLine('{"late":true}')).toBe(false);
  });

  it('rejects a message that is not JSON with BAD_REQUEST', async () => {
    const { channel } = open();
    await expect(channel.send({ n: 1n })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(channel.send(undefined)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('JsonLinesChannel write timing', () => {
  /** A channel whose output records each write it is handed (what a socket or pipe gets as one write). */
  function recorded() {
    const writes: string[] = [];
    const output = new Writable({
      write(chunk, _encoding, done) {
        writes.push(String(chunk));
        done();
      },
    });
    const input = new PassThrough();
    const channel = new JsonLinesChannel(input, output);
    channels.push(channel);
    return { writes, input, channel };
  }

  it('writes the first line of an input turn at once and batches the rest of that turn into one write', async () => {
    const { writes, input, channel } = recorded();
    channel.onMessage((message) => void channel.send({ echo: message }));
    await tick(); // the input flows: a chunk written now is read at once
    input.write('1\n2\n3\n'); // one chunk: three requests in one turn (pipelined)
    expect(writes).toEqual(['{"echo":1}\n']); // the first answer did not wait for a tick
    await tick();
    expect(writes).toEqual(['{"echo":1}\n', '{"echo":2}\n{"echo":3}\n']);
    input.write('4\n'); // the next chunk is a new turn
    expect(writes.at(-1)).toBe('{"echo":4}\n');
  });

  it('keeps the same-tick batch for lines sent outside an input turn', async () => {
    const { writes, input, channel } = recorded();
    await tick();
    input.write('0\n'); // a turn, with no line sent in it
    channel.sendLine('{"a":1}'); // the turn's first line: written at once
    expect(writes).toEqual(['{"a":1}\n']);
    await tick();
    channel.sendLine('{"b":2}'); // a timer's lines, no input since: one write on the next tick
    channel.sendLine('{"c":3}');
    expect(writes).toEqual(['{"a":1}\n']);
    await tick();
    expect(writes).toEqual(['{"a":1}\n', '{"b":2}\n{"c":3}\n']);
  });
});

describe('JsonLinesChannel events', () => {
  it('stops calling a listener once disposed', async () => {
    const { input, channel } = open();
    const seen: unknown[] = [];
    const bad: unknown[] = [];
    const closed: unknown[] = [];
    const disposers = [
      channel.onMessage((m) => seen.push(m)),
      channel.onInvalid((i) => bad.push(i)),
      channel.onClose((e) => closed.push(e)),
    ];
    await writeAll(input, ['1\nx\n']);
    for (const dispose of disposers) dispose();
    await writeAll(input, ['2\ny\n']);
    input.end();
    await tick();
    expect([seen, bad.length, closed]).toEqual([[1], 1, []]);
  });

  it('reports close once, with the input error when there is one', async () => {
    const ended = open();
    ended.input.end();
    await tick();
    ended.input.destroy();
    await tick();
    expect(ended.closes).toEqual([undefined]);

    const failed = open();
    const error = new Error('ECONNRESET');
    failed.input.destroy(error);
    await tick();
    expect(failed.closes).toEqual([error]);
  });
});
