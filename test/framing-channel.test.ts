/** Framing and number rules of JsonLinesChannel: linear framing, strict UTF-8, exact numbers, ids recovered. */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type InvalidLine, JsonLinesChannel } from '../src/transport/json-lines.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const channels: JsonLinesChannel[] = [];

afterEach(() => {
  for (const channel of channels.splice(0)) channel.destroy();
});

function open(maxLineLength?: number) {
  const input = new PassThrough();
  const channel = new JsonLinesChannel(input, new PassThrough(), { maxLineLength, name: 't' });
  channels.push(channel);
  const messages: unknown[] = [];
  const invalid: InvalidLine[] = [];
  channel.onMessage((message) => messages.push(message));
  channel.onInvalid((line) => invalid.push(line));
  return { input, messages, invalid };
}

async function feed(input: PassThrough, ...chunks: (string | Buffer)[]) {
  for (const chunk of chunks) input.write(chunk);
  await tick();
}

describe('JsonLinesChannel framing', () => {
  it('frames a 64 MiB line arriving in 64 KiB chunks in linear time', async () => {
    const { input, messages, invalid } = open();
    const size = 64 * 1024 * 1024;
    const body = Buffer.alloc(size - 12, 'a');
    const line = Buffer.concat([Buffer.from('{"id":"b","x":"'), body.subarray(15), Buffer.from('"}\n')]);
    expect(line.length).toBe(size - 12 + 3);
    const started = performance.now();
    for (let at = 0; at < line.length; at += 65536) input.write(line.subarray(at, at + 65536));
    await tick();
    const ms = performance.now() - started;
    expect(invalid).toEqual([]);
    expect((messages[0] as { x: string }).x).toHaveLength(size - 12 - 15);
    // split2 re-scanned the whole partial line per chunk: 26-33 s here; linear framing takes < 1 s.
    // A generous bound for a loaded machine that still catches the quadratic framer.
    expect(ms).toBeLessThan(20_000);
  }, 60_000);

  it('refuses invalid UTF-8 instead of delivering U+FFFD, and keeps reading', async () => {
    const { input, messages, invalid } = open();
    await feed(input, Buffer.from('{"id":"u","t":"caf\xc3"}\n', 'latin1'), '{"id":"next"}\n');
    expect(invalid).toMatchObject([{ reason: 'utf8', id: 'u' }]);
    expect(messages).toEqual([{ id: 'next' }]);
  });

  it('decodes a multi-byte character split across writes and lines ending in CRLF', async () => {
    const { input, messages, invalid } = open();
    const bytes = Buffer.from('{"t":"ż🐢"}\r\n');
    await feed(input, bytes.subarray(0, 7), bytes.subarray(7, 9), bytes.subarray(9));
    expect(messages).toEqual([{ t: 'ż🐢' }]);
    expect(invalid).toEqual([]);
  });

  it('accepts a line of exactly the limit (CR not counted) and refuses one byte more', async () => {
    const { input, messages, invalid } = open(1024);
    const line = (size: number, id: string) => `{"id":"${id}","p":"${'x'.repeat(size - 16 - id.length)}"}`;
    expect(line(1024, 'at')).toHaveLength(1024);
    await feed(input, `${line(1024, 'at')}\n${line(1024, 'cr')}\r\n${line(1025, 'over')}\n`);
    expect(messages.map((message) => (message as { id: string }).id)).toEqual(['at', 'cr']);
    expect(invalid).toMatchObject([{ reason: 'too-long', id: 'over', length: 1025 }]);
  });

  it('reports a too-long line once, with its size and the id read from its head', async () => {
    const { input, messages, invalid } = open(1024);
    const long = `{"type":"chunk","id":"r7","data":"${'x'.repeat(3000)}"}\n`;
    await feed(input, long.slice(0, 500), long.slice(500, 1500), long.slice(1500), '{"ok":1}\n');
    expect(invalid).toMatchObject([{ reason: 'too-long', id: 'r7', type: 'chunk', length: long.length - 1 }]);
    expect(messages).toEqual([{ ok: 1 }]);
  });
});

describe('JsonLinesChannel numbers', () => {
  it('refuses numbers it cannot represent exactly, naming the request id', async () => {
    const { input, messages, invalid } = open();
    await feed(
      input,
      '{"id":"a","n":1e400}\n',
      '{"id":"b","n":[-1e999]}\n',
      '{"id":"c","n":18446744073709551617}\n',
      '{"id":"d","n":9007199254740993}\n',
      '{"id":1.0}\n',
      '{"id":2e0}\n',
    );
    expect(invalid.map((line) => [line.reason, line.id])).toEqual([
      ['unrepresentable', 'a'],
      ['unrepresentable', 'b'],
      ['unrepresentable', 'c'],
      ['unrepresentable', 'd'],
      ['unrepresentable', undefined],
      ['unrepresentable', undefined],
    ]);
    expect(invalid[2]?.detail).toContain('18446744073709551617');
    expect(messages).toEqual([]);
  });

  it('checks numbers in a line nested 100,000 deep without overflowing the stack', async () => {
    const { input, messages, invalid } = open();
    const deep = (inner: string) => `${'['.repeat(100_000)}${inner}${']'.repeat(100_000)}`;
    await feed(input, `{"id":9,"p":${deep('1')}}\n`, `{"id":10,"p":${deep('18446744073709551617')}}\n`);
    expect(messages).toHaveLength(1);
    expect(invalid).toMatchObject([{ reason: 'unrepresentable', id: 10 }]);
  });

  it('delivers exactly what is representable', async () => {
    const { input, messages, invalid } = open();
    const lines = [
      '{"id":7,"n":9007199254740991,"m":-9007199254740991,"p":18446744073709551616,"q":100000000000000000000}',
      '{"f":1.5e300,"g":0.1,"h":1e-400,"s":"18446744073709551617 1e400"}',
      '{"a":1,"a":2}',
      '{"__proto__":{"polluted":true}}',
    ];
    await feed(input, `${lines.join('\n')}\n`);
    expect(invalid).toEqual([]);
    expect(messages.slice(0, 3)).toEqual([
      { id: 7, n: 9007199254740991, m: -9007199254740991, p: 2 ** 64, q: 1e20 },
      { f: 1.5e300, g: 0.1, h: 0, s: '18446744073709551617 1e400' },
      { a: 2 },
    ]);
    expect(Object.keys(messages[3] as object)).toEqual(['__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
