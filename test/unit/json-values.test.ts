/**
 * decodeLine's rules on numbers and ids, whichever path a line takes: a numeric id plainly written
 * first as an integer skips the literal-by-literal scan; every other shape must still be judged.
 */
import { describe, expect, it } from 'vitest';
import { decodeLine } from '../../src/transport/json-values.js';

const decode = (text: string) => decodeLine(Buffer.from(text));

describe('decodeLine', () => {
  it('takes a numeric id written as an integer, first or not, spaced or not', () => {
    for (const line of [
      '{"id":7,"action":"call","payload":{"target":"echo","input":{"i":3}}}',
      '{"id":-7}',
      '{ "id" : 7 , "a": 1.5}',
      '{"action":"status","id":7}',
      '{"id":7,"payload":{"id":2.5}}', // a nested id is the payload's business
      '{"id":7,"text":"a \\"quoted\\" word,\\n\\tand more"}', // escapes, none of them a key's
      '{"id":7,"text":"\\\\u0069d"}', // a backslash, then the text u0069d
    ]) {
      expect(decode(line), line).toEqual({ ok: true, value: JSON.parse(line) });
    }
  });

  it('refuses a top-level numeric id not written as an integer, wherever and however it is keyed', () => {
    for (const line of [
      '{"id":1.0,"action":"status"}',
      '{"id":1e0}',
      '{"action":"status","id":1.0}',
      '{"id":1,"id":1.0}', // JSON.parse keeps the last
      '{"id":1,"\\u0069d":1.0}', // the same key, escaped
    ]) {
      const decoded = decode(line);
      expect(decoded.ok, line).toBe(false);
      expect(decoded.ok === false && decoded.detail, line).toMatch(/not written as an integer/);
    }
  });

  it('refuses numbers a double does not carry, with a numeric id or a string one', () => {
    for (const line of [
      '{"id":7,"n":18446744073709551617}',
      '{"id":"a","n":18446744073709551617}',
      '{"id":7,"n":1e400}',
    ]) {
      expect(decode(line), line).toMatchObject({ ok: false, reason: 'unrepresentable' });
    }
    expect(decode('{"id":7,"n":18446744073709551616}')).toMatchObject({ ok: true }); // 2^64 is exact
  });
});
