#!/usr/bin/env node
/**
 * Big payloads beside their floors, in one run on the same interpreter (docs/protocol.md#bytes):
 *   1. a 4 MiB bytes round trip through a real daemon's socket (the client library, binary frames)
 *      vs a raw Node↔Python pipe that moves the same bytes length-prefixed and nothing else;
 *   2. the same round trip as JSON with the bytes in base64 (what a client had before frames);
 *   3. a 4 MiB JSON payload through the daemon vs a raw Node↔Python JSON-lines pipe with linear
 *      framing (LineFramer, JSON both ways, nothing else);
 *   4. a 100 MB bytes round trip: its time, and how much the daemon's peak RSS (VmHWM) rose over
 *      its RSS before it, beside the payload's size.
 * Run after `npm run build`: node scripts/bench-bytes.js  (BENCH_SCALE=0.3 for a quick pass).
 * Prints a markdown table; no assertions. Linux (reads /proc for the RSS figures).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LineFramer } from '../dist/transport/line-framer.js';
import { startDaemon, stopDaemon } from './bench-processes.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = Math.max(2, Math.round(20 * scale));
const MIB = 1024 * 1024;
const BIG = 100 * 1000 * 1000;
const python = process.env.PODKEEPER_PYTHON ?? 'python3';
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const RAW_BYTES = `
import sys
i, o = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = i.read(8)
    if len(head) < 8: break
    o.write(head + i.read(int.from_bytes(head, "big"))); o.flush()
`;
const RAW_JSON = `
import sys, json
for line in sys.stdin.buffer:
    msg = json.loads(line)
    sys.stdout.buffer.write(json.dumps({"id": msg["id"], "success": True, "result": msg["payload"]}).encode() + b"\\n")
    sys.stdout.buffer.flush()
`;

/** A Python peer on a pipe; `roundTrip(data)` resolves once `data.length` bytes came back. */
function rawBytesPeer() {
  const child = spawn(python, ['-u', '-c', RAW_BYTES], { stdio: ['pipe', 'pipe', 'inherit'] });
  let want = 0;
  let got = [];
  let size = 0;
  let done;
  child.stdout.on('data', (chunk) => {
    got.push(chunk);
    size += chunk.length;
    if (size >= want + 8) done(Buffer.concat(got, size).subarray(8));
  });
  return {
    roundTrip(data) {
      want = data.length;
      got = [];
      size = 0;
      const head = Buffer.alloc(8);
      head.writeBigUInt64BE(BigInt(data.length));
      child.stdin.write(head);
      child.stdin.write(data);
      return new Promise((resolve) => {
        done = resolve;
      });
    },
    close: () => child.kill(),
  };
}

/** A Python JSON-lines echo on a pipe, read with the linear framer. */
function rawJsonPeer() {
  const child = spawn(python, ['-u', '-c', RAW_JSON], { stdio: ['pipe', 'pipe', 'inherit'] });
  let done;
  const framer = new LineFramer(1024 * MIB, {
    onLine: (line) => done(JSON.parse(line.toString('utf8')).result),
    onTooLong: () => {},
  });
  child.stdout.on('data', (chunk) => framer.push(chunk));
  let id = 0;
  return {
    roundTrip(payload) {
      child.stdin.write(`${JSON.stringify({ id: id++, action: 'process', payload })}\n`);
      return new Promise((resolve) => {
        done = resolve;
      });
    },
    close: () => child.kill(),
  };
}

function status(pid, field) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) / 1024;
}

async function time(label, roundTrip, payload, check) {
  for (let i = 0; i < 2; i++) check(await roundTrip(payload)); // warm
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const back = await roundTrip(payload);
    times.push(performance.now() - start);
    check(back);
  }
  return { label, ms: median(times) };
}

const home = mkdtempSync(join(tmpdir(), 'pk-bench-bytes-'));
const daemon = await startDaemon(home);
const { client } = daemon;
const rawBytes = rawBytesPeer();
const rawJson = rawJsonPeer();
try {
  const data = Buffer.alloc(4 * MIB, 7);
  const same = (back) => {
    if (!Buffer.from(back).equals(data)) throw new Error('bytes came back different');
  };
  const base64 = { data: data.toString('base64') };
  const json = {
    items: Array.from({ length: (4 * MIB) / 64 }, (_, i) => ({ token: 'abcdefgh', score: 0.125, n: i })),
  };
  const jsonText = JSON.stringify(json);
  const jsonSame = (back) => {
    if (JSON.stringify(back) !== jsonText) throw new Error('JSON came back different');
  };
  const rows = [];
  // Alternate ours and the floor, twice, so drift on a shared machine hits both.
  for (let pass = 0; pass < 2; pass++) {
    rows.push(await time('raw pipe, bytes length-prefixed', (d) => rawBytes.roundTrip(d), data, same));
    rows.push(await time('daemon socket, bytes as frames', (d) => client.call('echo', d), data, same));
    rows.push(
      await time(
        'daemon socket, bytes as base64 JSON',
        (d) => client.call('echo', d),
        base64,
        () => {},
      ),
    );
    rows.push(
      await time('raw pipe, JSON lines (linear framing)', (p) => rawJson.roundTrip(p), json, jsonSame),
    );
    rows.push(await time('daemon socket, JSON', (p) => client.call('echo', p), json, jsonSame));
  }
  const best = new Map();
  for (const row of rows) best.set(row.label, Math.min(best.get(row.label) ?? Infinity, row.ms));
  const mbps = (ms, bytes) => ((2 * bytes) / 1e6 / (ms / 1000)).toFixed(0);
  const get = (label) => best.get(label) ?? NaN;
  const { pid } = await client.status();
  const big = Buffer.alloc(BIG, 3);
  const before = status(pid, 'VmRSS');
  const bigStart = performance.now();
  const bigBack = await client.call('echo', big);
  const bigMs = performance.now() - bigStart;
  if (!Buffer.from(bigBack).equals(big)) throw new Error('100 MB came back different');
  const peak = status(pid, 'VmHWM');

  console.log(
    `bytes bench — node ${process.version}, ${python}, ${ROUNDS} round trips per figure (median, best of 2 passes)\n`,
  );
  console.log('| round trip (4 MiB each way) | ms | MB/s (both ways) | vs floor |');
  console.log('| --- | ---: | ---: | ---: |');
  const floorBytes = get('raw pipe, bytes length-prefixed');
  const floorJson = get('raw pipe, JSON lines (linear framing)');
  for (const [label, floor, bytes] of [
    ['raw pipe, bytes length-prefixed', floorBytes, data.length],
    ['daemon socket, bytes as frames', floorBytes, data.length],
    ['daemon socket, bytes as base64 JSON', floorBytes, data.length],
    ['raw pipe, JSON lines (linear framing)', floorJson, jsonText.length],
    ['daemon socket, JSON', floorJson, jsonText.length],
  ]) {
    const ms = get(label);
    console.log(`| ${label} | ${ms.toFixed(1)} | ${mbps(ms, bytes)} | ${(floor / ms).toFixed(2)}× |`);
  }
  console.log(
    `\n100 MB bytes round trip through the daemon: ${(bigMs / 1000).toFixed(2)} s; daemon RSS before ${before.toFixed(0)} MB, ` +
      `peak ${peak.toFixed(0)} MB: +${(peak - before).toFixed(0)} MB for a ${(BIG / 1e6).toFixed(0)} MB payload`,
  );
} finally {
  rawBytes.close();
  rawJson.close();
  await stopDaemon(daemon);
  rmSync(home, { recursive: true, force: true });
}
