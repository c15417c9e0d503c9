/**
 * Frames on a JsonLinesChannel over in-memory streams: what one side sends the other reads back
 * whole, however the bytes are cut into chunks, and a peer that reads no frames gets base64.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/transport/frames.js';
import { JsonLinesChannel, readsFrames } from '../../src/transport/json-lines.js';

function reader() {
  const input = new PassThrough();
  const channel = new JsonLinesChannel(input, new PassThrough());
  const messages: unknown[] = [];
  const invalid: string[] = [];
  channel.onMessage((message) => messages.push(message));
  channel.onInvalid((bad) => invalid.push(bad.reason));
  return { input, messages, invalid };
}

const message = {
  id: 'x',
  result: { a: Buffer.from('hello'), list: [new Uint8Array([1, 2, 3]), 'text'], empty: Buffer.alloc(0) },
};

describe('frames', () => {
  it('encodes bytes as frames after the line, and a message without bytes as plain JSON', () => {
    const { line, frames } = encodeMessage(message, true);
    expect(JSON.parse(line as string)).toEqual({
      id: 'x',
      result: { a: { $bytes: 0 }, list: [{ $bytes: 1 }, 'text'], empty: { $bytes: 2 } },
      $frames: [5, 3, 0],
    });
    expect(frames.map((frame) => Buffer.from(frame as Uint8Array).toString('hex'))).toEqual([
      '68656c6c6f',
      '010203',
      '',
    ]);
    expect(encodeMessage({ id: 1, a: [1, { b: 'c' }] }, true)).toEqual({
      line: '{"id":1,"a":[1,{"b":"c"}]}',
      frames: [],
    });
    expect(encodeMessage({ id: 1 }, true, true).line).toBe('{"id":1,"$frames":[]}');
    expect(message.result.a).toBeInstanceOf(Buffer); // the caller's value is left as it was
  });

  it('sends base64 to a peer that reads no frames', () => {
    const { line, frames } = encodeMessage({ id: 'x', data: Buffer.from('hi') }, false);
    expect(frames).toEqual([]);
    expect(JSON.parse(line as string)).toEqual({ id: 'x', data: { $base64: 'aGk=' } });
  });

  for (const chunkSize of [1, 3, 7, 1 << 16]) {
    it(`reads a framed message cut into ${chunkSize}-byte chunks, then the next line`, () => {
      const { input, messages, invalid } = reader();
      const { line, frames } = encodeMessage(message, true);
      const wire = Buffer.concat([
        Buffer.from(`${line}\n`),
        ...(frames as Uint8Array[]),
        Buffer.from('{"id":"next"}\n'),
      ]);
      for (let at = 0; at < wire.length; at += chunkSize) input.write(wire.subarray(at, at + chunkSize));
      expect(invalid).toEqual([]);
      expect(messages).toHaveLength(2);
      const [first] = messages as [{ result: { a: Buffer; list: [Buffer, string]; empty: Buffer } }];
      expect(first.result.a.toString()).toBe('hello');
      expect([...first.result.list[0]]).toEqual([1, 2, 3]);
      expect(first.result.empty.length).toBe(0);
      expect(readsFrames(first)).toBe(true);
      expect(messages[1]).toEqual({ id: 'next' });
      expect(readsFrames(messages[1])).toBe(false);
    });
  }

  it('refuses a malformed header without reading bytes, and a missing frame after skipping its bytes', () => {
    const { input, messages, invalid } = reader();
    input.write('{"id":"a","$frames":{"n":1}}\n{"id":"b","x":{"$bytes":2},"$frames":[2]}\n\n\n{"id":"c"}\n');
    expect(invalid).toEqual(['frames', 'frames']);
    expect(messages).toEqual([{ id: 'c' }]);
  });
});
