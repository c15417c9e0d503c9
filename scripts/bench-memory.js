#!/usr/bin/env node
/**
 * The daemon's resident memory beside its floors, in one run: a bare Node process, the zero-logic
 * relay (echo-relay.js) as Node starts it and with the daemon's young-generation cap, and the daemon
 * as `podkeeper daemon` starts it (bin/podkeeper.js).
 *   1. idle: RSS 3 s after each is ready (the daemon with no pod);
 *   2. sustained load: each in turn answers calls with ~1 KiB payloads, WINDOW outstanding, from the
 *      same minimal client (line-client.js) for LOAD_S seconds; RSS sampled every 200 ms. The plateau
 *      is the median of the second half's samples (where it levelled off), the peak the highest.
 * Also: the modules the daemon has loaded (ESM graph, via a load hook), and its live heap.
 * Run: npm run bench:memory  (BENCH_SCALE=0.3 for a quick pass). Prints a markdown table.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePython } from '../dist/env/python.js';
import { rssMB, startDaemon, startRelay, stopChild, stopDaemon } from './bench-processes.js';
import { percentile } from './echo-floor.js';
import { lineClient } from './line-client.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const LOAD_S = 15 * scale;
const WINDOW = 64;
const SETTLE_MS = 3000;
const SEMI_SPACE = '--max-semi-space-size=4';
const PAYLOAD = { text: 'x'.repeat(900), numbers: Array.from({ length: 20 }, (_, i) => i * 1.5) };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `WINDOW` calls outstanding for LOAD_S seconds; RSS of `pid` every 200 ms. */
async function sustain(client, pid) {
  const samples = [];
  const sampler = setInterval(() => samples.push(rssMB(pid)), 200);
  const until = Date.now() + LOAD_S * 1000;
  let calls = 0;
  const lane = async () => {
    while (Date.now() < until) {
      await client.call({ ...PAYLOAD, i: calls });
      calls += 1;
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  clearInterval(sampler);
  const late = samples.slice(Math.floor(samples.length / 2));
  return { plateau: percentile(late, 50), peak: Math.max(...samples), callsPerS: calls / LOAD_S };
}

/** The modules an idle daemon has loaded, counted in a daemon of its own (the hook costs memory). */
async function moduleCount() {
  const own = mkdtempSync(join(tmpdir(), 'pk-bench-modules-'));
  const file = join(own, 'modules.txt');
  let daemon;
  try {
    daemon = await startDaemon(own, {
      env: { MODULE_COUNT_FILE: file },
      nodeFlags: ['--import', join(import.meta.dirname, 'module-count.js')],
    });
    await sleep(SETTLE_MS);
    daemon.child.kill('SIGUSR2');
    let urls = [];
    for (let i = 0; i < 100 && urls.length === 0; i++) {
      await sleep(50);
      urls = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    }
    const packages = new Set(
      urls.map((url) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1]).filter(Boolean),
    );
    const builtins = urls.filter((url) => url.startsWith('node:')).length;
    return (
      `idle daemon: ${urls.length} modules loaded (${builtins} of them Node built-ins), from ${packages.size} ` +
      `packages: ${[...packages].sort().join(', ')}`
    );
  } finally {
    if (daemon) await stopDaemon(daemon);
    rmSync(own, { recursive: true, force: true });
  }
}

const { executable, version } = await resolvePython(process.env.PODKEEPER_PYTHON ?? 'python3');
console.log(`podkeeper memory bench — node ${process.version}, python ${version}, scale ${scale}\n`);
const home = mkdtempSync(join(tmpdir(), 'pk-bench-'));
const started = [];
try {
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
  started.push(() => stopChild(bare));
  const relays = {};
  for (const [name, flags] of [
    ['relay', []],
    [`relay ${SEMI_SPACE}`, [SEMI_SPACE]],
  ]) {
    const path = join(home, `relay-${Object.keys(relays).length}.sock`);
    const child = await startRelay(path, executable, flags);
    started.push(() => stopChild(child));
    relays[name] = { pid: child.pid, path };
  }
  const daemon = await startDaemon(home);
  started.push(() => stopDaemon(daemon));
  await sleep(SETTLE_MS);
  const sides = {
    'bare Node (`node -e`)': { pid: bare.pid },
    ...relays,
    'podkeeper daemon': { pid: daemon.child.pid, path: join(home, 'podkeeper.sock') },
  };
  const rows = Object.entries(sides).map(([name, side]) => ({ name, side, idle: rssMB(side.pid) }));
  for (const row of rows) {
    if (!row.side.path) continue;
    const client = await lineClient(row.side.path);
    Object.assign(row, await sustain(client, row.side.pid));
    client.close();
  }
  const fmt = (n) => (n === undefined ? '' : n.toFixed(1));
  const relay = rows.find((row) => row.name === 'relay');
  console.log(
    `| process | idle RSS (MB) | load plateau (MB) | load peak (MB) | plateau / relay's | calls/s |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const ratio = row.plateau === undefined ? '' : `${(row.plateau / relay.plateau).toFixed(2)}×`;
    const rate = row.callsPerS === undefined ? '' : Math.round(row.callsPerS).toLocaleString('en-US');
    console.log(
      `| ${row.name} | ${fmt(row.idle)} | ${fmt(row.plateau)} | ${fmt(row.peak)} | ${ratio} | ${rate} |`,
    );
  }
  console.log(`\n${await moduleCount()}`);
} finally {
  for (const stop of started.reverse()) await stop();
  rmSync(home, { recursive: true, force: true });
}
