/**
 * Big values relayed as their bytes (raw-json.ts): a channel with a `rawPath` hands a long line's
 * value over unparsed, and writing it splices the same bytes back in; small lines are untouched.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeMessage, materialize } from '../../src/transport/frames.js';
import { JsonLinesChannel } from '../../src/transport/json-lines.js';
import { RAW_MIN_BYTES, RawJson } from '../../src/transport/raw-json.js';

function channel(rawPath?: string[]) {
  const input = new PassThrough();
  const output = new PassThrough();
  const lines = new JsonLinesChannel(input, output, { rawPath });
  const messages: unknown[] = [];
  const invalid: string[] = [];
  const out: Buffer[] = [];
  output.on('data', (chunk: Buffer) => out.push(chunk));
  const written = () => Buffer.concat(out).toString();
  lines.onMessage((message) => messages.push(message));
  lines.onInvalid((bad) => invalid.push(`${bad.reason} ${String(bad.id)}`));
  return { input, written, lines, messages, invalid };
}

/** A value of more than RAW_MIN_BYTES of JSON, with text that needs escaping and an exact big integer. */
const bigText = `{"list":[${Array.from({ length: 3000 }, (_, i) => `{"n":${i},"s":"a\\"}]\\\\ż"}`).join(',')}],"exact":123456789012345678901234567890}`;

describe('RawJson on a channel', () => {
  it('keeps the value at the path of a long line as its bytes, and parses the envelope', () => {
    const { input, messages, invalid } = channel(['payload', 'input']);
    expect(bigText.length).toBeGreaterThan(RAW_MIN_BYTES);
    const line = `{"id":"a","action":"call","payload":{"input":${bigText},"target":"echo"}}\n`;
    for (let at = 0; at < line.length; at += 4096) input.write(line.slice(at, at + 4096));
    input.write('{"id":"small","payload":{"input":[1]}}\n');
    expect(invalid).toEqual([]);
    const [big, small] = messages as [
      { id: string; payload: { input: RawJson; target: string } },
      { payload: { input: unknown } },
    ];
    expect(big.id).toBe('a');
    expect(big.payload.target).toBe('echo');
    expect(big.payload.input).toBeInstanceOf(RawJson);
    expect(big.payload.input.text.toString()).toBe(bigText); // the exact integer is still its digits
    expect(small.payload.input).toEqual([1]); // a short line is parsed as always
    expect(() => materialize(big.payload.input)).toThrow(
      expect.objectContaining({ code: 'UNREPRESENTABLE' }),
    );
  });

  it('parses the whole line when the value is not where the path says, or the envelope is bad', () => {
    const { input, messages, invalid } = channel(['payload', 'input']);
    input.write(
      `{"id":"other","payload":{"data":${bigText.replace('123456789012345678901234567890', '1')}}}\n`,
    );
    input.write(`{"id":"bad","payload":{"input":${bigText}},"n":1e400}\n`);
    expect(messages).toHaveLength(1);
    expect((messages[0] as { payload: { data: { list: unknown[] } } }).payload.data.list).toHaveLength(3000);
    expect(invalid).toEqual(['unrepresentable bad']);
  });

  it('writes a RawJson as the bytes it came as, and a peer that reads no frames gets its bytes as base64', () => {
    const raw = new RawJson(Buffer.from(bigText));
    const encoded = encodeMessage({ id: 'x', success: true, result: raw }, true);
    expect(Array.isArray(encoded.line)).toBe(true);
    const text = (encoded.line as (string | Uint8Array)[])
      .map((piece) => Buffer.from(piece).toString())
      .join('');
    expect(text).toBe(`{"id":"x","success":true,"result":${bigText}}`);

    const framed = new RawJson(Buffer.from('{"audio":{"$bytes":0},"n":1}'), [
      [Buffer.from('h'), Buffer.from('i')],
    ]);
    const relayed = encodeMessage({ id: 'y', result: framed }, true);
    expect(relayed.frames.map((frame) => Buffer.concat(frame as Uint8Array[]).toString())).toEqual(['hi']);
    expect(encodeMessage({ id: 'y', result: framed }, false)).toEqual({
      line: '{"id":"y","result":{"audio":{"$base64":"aGk="},"n":1}}',
      frames: [],
    });
  });

  it('relays a framed message: the frames go with the raw value, in order', () => {
    const { input, written, lines, messages } = channel(['payload', 'input']);
    const pad = 'p'.repeat(RAW_MIN_BYTES);
    input.write(
      `{"id":"f","payload":{"input":{"pad":"${pad}","a":{"$bytes":0},"b":{"$bytes":1}}},"$frames":[2,3]}\n`,
    );
    input.write('hiyou');
    const [message] = messages as [{ payload: { input: RawJson } }];
    expect(message.payload.input.frames.map((frame) => Buffer.concat(frame).toString())).toEqual([
      'hi',
      'you',
    ]);
    expect(materialize(message.payload.input)).toMatchObject({ a: Buffer.from('hi'), b: Buffer.from('you') });
    void lines.send({ id: '1', action: 'process', payload: message.payload.input });
    const wire = written();
    expect(wire).toBe(
      `{"id":"1","action":"process","payload":{"pad":"${pad}","a":{"$bytes":0},"b":{"$bytes":1}},"$frames":[2,3]}\nhiyou`,
    );
  });

  it('relays a long answer that lists hundreds of frames, and reads the next answer after them', () => {
    const input = new PassThrough();
    const pod = new JsonLinesChannel(input, new PassThrough(), { rawPath: ['result'], rawLast: true });
    const messages: { id: string; result: unknown }[] = [];
    pod.onMessage((message) => messages.push(message as { id: string; result: unknown }));
    const refs = Array.from({ length: 300 }, (_, i) => `{"$bytes":${i}}`).join(',');
    const result = `{"caption":"${'p'.repeat(RAW_MIN_BYTES)}","images":[${refs}]}`;
    input.write(
      `{"id":"r1","success":true,"result":${result},"$frames":[${Array(300).fill(100).join(',')}]}\n`,
    );
    input.write(Buffer.alloc(300 * 100, 0x0a)); // newlines: read as lines, they would be seen
    input.write('{"id":"r2","success":true,"result":2}\n');
    expect(messages.map((message) => message.id)).toEqual(['r1', 'r2']);
    const relayed = messages[0]?.result as RawJson;
    expect(relayed.text.toString()).toBe(result);
    expect(relayed.frames).toHaveLength(300);
  });

  it('skips the frames a line it cannot read announces at its end: too long, or malformed', () => {
    const input = new PassThrough();
    const lines = new JsonLinesChannel(input, new PassThrough(), { maxLineLength: 4096 });
    const messages: unknown[] = [];
    const invalid: string[] = [];
    lines.onMessage((message) => messages.push(message));
    lines.onInvalid((bad) => invalid.push(`${bad.reason} ${String(bad.id)}`));
    const smuggled = Buffer.from('\n{"id":"smuggled","action":"status"}\n');
    input.write(`{"id":"long","pad":"${'p'.repeat(5000)}","$frames":[${smuggled.length}]}\n`);
    input.write(smuggled);
    input.write(`{"id":"bad","x":tru,"$frames":[${smuggled.length}]}\n`);
    input.write(smuggled);
    input.write('{"id":"huge","x":tru,"$frames":[9007199254740991]}\n'); // no message is that big: not skipped
    input.write('{"id":"after"}\n');
    expect(invalid).toEqual(['too-long long', 'json bad', 'json huge']);
    expect(messages).toEqual([{ id: 'after' }]);
  });
});
