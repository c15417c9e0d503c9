/**
 * The pure logic between the daemon and a zygote: the frames on a forked pod's control connection
 * (launch/forked-spare.ts, the same format as pods/podkeeper_pod/wire.py) and the lines a zygote
 * prints (manager/zygote-lines.ts). The real processes: test/zygote.test.ts, pods/tests/test_zygote.py.
 */
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { frame, readFrames } from '../../src/launch/forked-spare.js';
import { parseLine, readZygoteLines } from '../../src/manager/zygote-lines.js';

/** A socket-shaped stream fed by hand (readFrames only listens for `data` and may `destroy`). */
function fakeSocket(): Socket & { destroyedWith?: Error } {
  const stream = new PassThrough() as unknown as Socket & { destroyedWith?: Error };
  const destroy = stream.destroy.bind(stream);
  stream.destroy = (error?: Error) => {
    stream.destroyedWith = error;
    return destroy();
  };
  return stream;
}

describe('control frames', () => {
  it('reads frames split anywhere and several in one chunk', () => {
    const socket = fakeSocket();
    const got: unknown[][] = [];
    readFrames(socket, (message) => got.push(message));
    const bytes = Buffer.concat([
      frame(['forked', 42]),
      frame(['exited', null, 6]),
      frame(['exited', 7, null]),
    ]);
    for (let i = 0; i < bytes.length; i += 3) socket.emit('data', bytes.subarray(i, i + 3));
    expect(got).toEqual([
      ['forked', 42],
      ['exited', null, 6],
      ['exited', 7, null],
    ]);
  });

  it('a frame that is not a JSON array, or too long, ends the connection', () => {
    for (const bad of [
      frame({ not: 'an array' } as unknown as unknown[]),
      Buffer.from([0xff, 0xff, 0xff, 0x7f]),
    ]) {
      const socket = fakeSocket();
      const got: unknown[][] = [];
      readFrames(socket, (message) => got.push(message));
      socket.emit('data', bad);
      expect(got).toEqual([]);
      expect(socket.destroyedWith).toBeInstanceOf(Error);
    }
  });

  it('frames a go as wire.py reads it: a little-endian length, then JSON', () => {
    const bytes = frame(['go', { A: '1' }, '/']);
    expect(bytes.readUInt32LE(0)).toBe(bytes.length - 4);
    expect(JSON.parse(bytes.subarray(4).toString())).toEqual(['go', { A: '1' }, '/']);
  });
});

describe("a zygote's lines", () => {
  it('parses ready, spare and refusing; anything else is undefined', () => {
    expect(parseLine('{"type":"zygote","pid":5,"preloadMs":1.5}')).toMatchObject({ type: 'zygote', pid: 5 });
    expect(parseLine('{"type":"spare","pid":6}')).toEqual({ type: 'spare', pid: 6 });
    expect(parseLine('{"type":"refusing","code":"ZYGOTE_THREADS","reason":"1 thread"}')).toMatchObject({
      code: 'ZYGOTE_THREADS',
    });
    for (const bad of [
      '',
      'null',
      '[]',
      '{"type":"spare"}',
      '{"type":"spare","pid":-1}',
      '{"type":"refusing"}',
    ])
      expect(parseLine(bad)).toBeUndefined();
  });

  it('splits lines across chunks', () => {
    const stdout = new PassThrough();
    const got: (string | undefined)[] = [];
    readZygoteLines(stdout, (line) => got.push(line?.type));
    stdout.write('{"type":"zygote","pid":5,"preloadMs":1}\n{"type":"sp');
    stdout.write('are","pid":6}\nnot json\n');
    expect(got).toEqual(['zygote', 'spare', undefined]);
  });
});
