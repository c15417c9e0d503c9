#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolvePython } from '../dist/env/python.js';
import { PodManager } from '../dist/index.js';
import { echoCopies, rssMB, startDaemon, startRelay, stopChild, stopDaemon } from './bench-processes.js';
import { percentile, pipelined, rawEcho } from './echo-floor.js';
import { lineClient } from './line-client.js';

const _ROOT = join(import.meta.dirname, '..');
const scale = Number(process.env.BENCH_SCALE ?? 1);
const ROUNDS = 6;
const ROUND_TRIPS = Math.round(1000 * scale);
const PIPELINED = Math.round(20_000 * scale);
const WINDOW = 256;
const WARMUP = 300;
const PODS = 20;

const median = (values) => percentile(values, 50);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sequential(call, times) {
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const start = performance.now();
    await call({ text: 'hello', i });
    times.push(performance.now() - start);
  }
}

const { executable, version } = await resolvePython(process.env.PODKEEPER_PYTHON ?? 'python3');
console.log(
  `podkeeper control bench — node ${process.version}, python ${version} (${executable}), scale ${scale}\n`,
);

const home = mkdtempSync(join(tmpdir(), 'pk-bench-'));
const recipes = echoCopies(
  join(home, 'bench-recipes'),
  Array.from({ length: PODS }, (_, i) => `echo-${String(i + 1).padStart(2, '0')}`),
);

const { child, client } = await startDaemon(home, { env: { PODKEEPER_RECIPE_PATH: recipes } });
const raw = rawEcho(executable);
const relayChild = await startRelay(join(home, 'relay.sock'), executable);
const relay = await lineClient(join(home, 'relay.sock'));
const bare = await lineClient(join(home, 'podkeeper.sock'));
const manager = new PodManager({ python: executable, idleTimeout: -1, recipePath: [], home });
try {
  await sleep(500);
  const idleRss = rssMB(child.pid);
  const calls = {
    floor: (payload) => raw.call(payload),
    ours: (payload) => client.call('echo', payload),
    inProcess: (payload) => manager.call('echo', payload),
    noop: () => client.request('cancel', { id: 'nothing' }),
    relay: (payload) => relay.call(payload),
    bare: (payload) => bare.call(payload),
  };
  for (let i = 0; i < WARMUP; i++)
    await Promise.all(Object.values(calls).map((call) => call({ text: 'warm' })));

  const seq = { floor: [], ours: [], inProcess: [], noop: [], relay: [], bare: [] };
  const pipe = { floor: [], ours: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const sides = ['floor', 'ours', 'relay', 'bare', 'inProcess', 'noop'];
    const order = round % 2 === 0 ? sides : sides.toReversed();
    for (const side of order) await sequential(calls[side], seq[side]);
    for (const side of ['floor', 'ours']) pipe[side].push(await pipelined(calls[side], PIPELINED, WINDOW));
  }
  await manager.close();
  const afterLoadRss = rssMB(child.pid);

  await Promise.all(
    Array.from({ length: PODS }, (_, i) => client.start(`echo-${String(i + 1).padStart(2, '0')}`)),
  );
  await sleep(500);
  const podsRss = rssMB(child.pid);
  const status = await client.status();

  const rows = [
    [
      'warm call p50 (ms): socket + client vs raw pipe',
      median(seq.floor),
      median(seq.ours),
      `${(median(seq.ours) / median(seq.floor)).toFixed(2)}×`,
      '≤ 2×',
    ],
    ['  the same call in-process (PodManager, no socket), p50 (ms)', '', median(seq.inProcess), '', ''],
    ['  a control round trip reaching no pod (cancel of nothing), p50 (ms)', '', median(seq.noop), '', ''],
    [
      '  the same hops through a zero-logic Node relay vs the raw pipe, p50 (ms)',
      median(seq.floor),
      median(seq.relay),
      `${(median(seq.relay) / median(seq.floor)).toFixed(2)}×`,
      '',
    ],
    [
      '  daemon vs that relay, both driven by a bare socket client, p50 (ms)',
      median(seq.relay),
      median(seq.bare),
      `${(median(seq.bare) / median(seq.relay)).toFixed(2)}×`,
      '',
    ],
    [
      'warm call p99 (ms)',
      percentile(seq.floor, 99),
      percentile(seq.ours, 99),
      `${(percentile(seq.ours, 99) / percentile(seq.floor, 99)).toFixed(2)}×`,
      '',
    ],
    [
      `pipelined calls/s, one pod, one connection (window ${WINDOW}), median of ${ROUNDS}`,
      median(pipe.floor),
      median(pipe.ours),
      `${(median(pipe.ours) / median(pipe.floor)).toFixed(2)}×`,
      '≥ 20,000/s',
    ],
    ['daemon RSS idle (MB)', '', idleRss, '', ''],
    [`daemon RSS after ${ROUNDS * (ROUND_TRIPS + PIPELINED)} calls (MB)`, '', afterLoadRss, '', ''],
    [`daemon RSS with ${status.pods} pods running (MB)`, '', podsRss, '', ''],
    [`pods' own RSS, summed (${status.pods} pods, MB)`, '', status.memory.usedMB, '', ''],
  ];
  const fmt = (n) =>
    typeof n !== 'number' ? n : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(3);
  console.log('| measure | floor | podkeeper | ratio | target |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const [name, floor, ours, ratio, target] of rows)
    console.log(`| ${name} | ${fmt(floor)} | ${fmt(ours)} | ${ratio} | ${target} |`);
} finally {
  raw.close();
  relay.close();
  bare.close();
  await stopChild(relayChild);
  await stopDaemon({ child, client });
  rmSync(home, { recursive: true, force: true });
}
