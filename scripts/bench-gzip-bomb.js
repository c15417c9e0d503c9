#!/usr/bin/env node
/**
 * A gzip bomb against the archive check: an honest recipe tar followed by PADDING_MB of zeros, one
 * gzip member at level 1 (~230:1, under node-tar's own 1000:1 guard). Prints how long the check took,
 * its answer, and the worst event-loop stall seen meanwhile (a 10 ms timer's lateness).
 *
 *   npm run build && node scripts/bench-gzip-bomb.js [PADDING_MB ...]     (default: 40 1100)
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { Header } from 'tar';
import { inspectArchive } from '../dist/install/unpack.js';

const sizes = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'pk-bomb-bench-'));

function recipeTar() {
  const blocks = [];
  const members = [
    ['bomb/recipe.json', '{"name":"bomb","capability":"demo","entry":"pod.py"}'],
    ['bomb/pod.py', 'def process(payload, ctx):\n    return payload\n'],
  ];
  for (const [path, body] of members) {
    const header = new Header({ path, type: 'File', size: body.length, mode: 0o644, mtime: new Date(0) });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, Buffer.from(body), Buffer.alloc(512 - body.length));
  }
  blocks.push(Buffer.alloc(1024)); // the end of the archive
  return Buffer.concat(blocks);
}

async function bomb(paddingMB) {
  const file = join(dir, `bomb-${paddingMB}.tar.gz`);
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  async function* bytes() {
    yield recipeTar();
    for (let left = paddingMB * 1024 * 1024; left > 0; left -= zeros.length)
      yield zeros.subarray(0, Math.min(left, zeros.length));
  }
  await pipeline(bytes(), createGzip({ level: constants.Z_BEST_SPEED }), createWriteStream(file));
  return file;
}

for (const paddingMB of sizes.length > 0 ? sizes : [40, 1100]) {
  const file = await bomb(paddingMB);
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  const started = performance.now();
  const answer = await inspectArchive(file, { maxBytes: 1024 * 1024 * 1024, maxEntries: 20_000 }).then(
    (totals) => `accepted (${totals.entries} members)`,
    (error) => `${error.code}: ${error.message.replace(/"[^"]*"/, '"…"')}`,
  );
  const took = performance.now() - started;
  clearInterval(timer);
  console.log(
    `padding ${String(paddingMB).padStart(5)} MB, file ${(statSync(file).size / 1024).toFixed(0).padStart(5)} KB: ` +
      `${took.toFixed(0)} ms, worst event-loop stall ${worst.toFixed(0)} ms — ${answer}`,
  );
}
rmSync(dir, { recursive: true, force: true });
