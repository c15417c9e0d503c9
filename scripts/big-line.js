/**
 * One big line read in-process, beside its floor (bench.js prints both in one table row):
 *   floor: 64 KiB chunks collected until the newline, one concat, toString, JSON.parse: the least
 *          any framing can do;
 *   ours:  the same chunks through JsonLinesChannel (linear framing, strict UTF-8, number check).
 * The two alternate, so a noisy neighbour hits both alike.
 */

import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { JsonLinesChannel } from '../dist/transport/json-lines.js';

const CHUNK = 64 * 1024;

const ITEM = { token: 'abcdefgh', score: 0.125, n: 12345 };
const ITEM_BYTES = JSON.stringify(ITEM).length + 1;

/** A JSON value of about `bytes` serialized: many short strings and numbers, as a result would be. */
export function bigValue(bytes) {
  return Array.from({ length: Math.ceil(bytes / ITEM_BYTES) }, () => ({ ...ITEM }));
}

/** A JSON answer line of about `bytes` carrying {@link bigValue}. */
export function bigLine(bytes) {
  return Buffer.from(`${JSON.stringify({ id: 'big', success: true, result: bigValue(bytes) })}\n`);
}

function chunks(line) {
  const parts = [];
  for (let at = 0; at < line.length; at += CHUNK) parts.push(line.subarray(at, at + CHUNK));
  return parts;
}

function floorOnce(parts) {
  const start = performance.now();
  const input = new PassThrough();
  const pieces = [];
  let result;
  input.on('data', (chunk) => {
    const newline = chunk.indexOf(10);
    if (newline === -1) return void pieces.push(chunk);
    pieces.push(chunk.subarray(0, newline));
    result = JSON.parse(Buffer.concat(pieces).toString('utf8'));
  });
  for (const part of parts) input.write(part);
  if (result === undefined) throw new Error('floor: no line');
  return performance.now() - start;
}

function oursOnce(parts) {
  const start = performance.now();
  const input = new PassThrough();
  const channel = new JsonLinesChannel(input, new PassThrough());
  let result;
  channel.onMessage((message) => {
    result = message;
  });
  for (const part of parts) input.write(part);
  channel.destroy();
  if (result === undefined) throw new Error('ours: no line');
  return performance.now() - start;
}

/** Median ms of `rounds` reads of a `bytes` line, floor and ours. */
export function measureBigLine(bytes, rounds) {
  const parts = chunks(bigLine(bytes));
  const floor = [];
  const ours = [];
  for (let i = 0; i < rounds; i++) {
    floor.push(floorOnce(parts));
    ours.push(oursOnce(parts));
  }
  const median = (list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)];
  return { floor: median(floor), ours: median(ours) };
}
