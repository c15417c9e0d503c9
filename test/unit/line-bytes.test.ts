/** A line as the pieces it came in (line-bytes.ts): reads across pieces, UTF-8 checked piece by piece. */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { LineBytes, Utf8Check } from '../../src/transport/line-bytes.js';

function cut(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

describe('LineBytes', () => {
  const text = Buffer.from('{"a":"żółw 🐢","b":[1,2,3]}');
  for (const size of [1, 2, 3, 5, 64]) {
    it(`reads bytes, ranges and slices across pieces of ${size}`, () => {
      const line = new LineBytes(cut(text, size));
      expect(line.length).toBe(text.length);
      for (let i = -1; i <= text.length; i++) expect(line.at(i)).toBe(text[i]);
      for (const [start, end] of [
        [0, text.length],
        [3, 9],
        [7, 8],
        [5, 5],
      ] as const) {
        expect(Buffer.concat(line.range(start, end)).equals(text.subarray(start, end))).toBe(true);
        expect(line.slice(start, end).equals(text.subarray(start, end))).toBe(true);
      }
      expect(line.whole().equals(text)).toBe(true);
    });
  }
});

describe('Utf8Check', () => {
  const samples = [
    Buffer.from('plain ascii'),
    Buffer.from('ż 🐢 € a'),
    Buffer.from([0x61, 0xc3]), // cut at the end
    Buffer.from([0xc3, 0x28]), // a bad continuation
    Buffer.from([0xed, 0xa0, 0x80]), // a surrogate
    Buffer.from([0xf0, 0x9f, 0x90]), // a 4-byte character missing its last byte
    Buffer.from([0x80, 0x61]), // a continuation with no lead
    Buffer.from([0xff]),
    Buffer.from('🐢🐢🐢'),
  ];
  for (const sample of samples) {
    it(`agrees with isUtf8 on ${sample.toString('hex')} in pieces of every size`, () => {
      for (let size = 1; size <= sample.length; size++) {
        const check = new Utf8Check();
        for (const piece of cut(sample, size)) check.push(piece);
        expect(check.valid, `pieces of ${size}`).toBe(isUtf8(sample));
      }
    });
  }
});
