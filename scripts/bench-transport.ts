/**
 * Micro-benchmark of the JSON-lines transport against a raw pipe: N pipelined messages written to a
 * `cat` child process and read back. Prints the median of several rounds for each variant, side by side.
 *
 *   node_modules/.bin/tsc -p tsconfig.json --noEmit false --rootDir . --outDir node_modules/.cache/pk-bench
 *   node node_modules/.cache/pk-bench/scripts/bench-transport.js [messages] [rounds]
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { JsonLinesChannel } from '../src/transport/json-lines.js';

const MESSAGES = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 30);

function message(i: number): unknown {
  return {
    id: `req-${i.toString(16).padStart(8, '0')}`,
    action: 'process',
    payload: { text: 'Hello world' },
  };
}

function startCat() {
  return spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
}

/** Baseline: JSON.stringify + one write() per message, count newlines on the way back. */
async function rawRound(): Promise<number> {
  const cat = startCat();
  const start = performance.now();
  const done = new Promise<void>((resolve) => {
    let seen = 0;
    cat.stdout.on('data', (chunk: Buffer) => {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) seen++;
      if (seen === MESSAGES) resolve();
    });
  });
  for (let i = 0; i < MESSAGES; i++) cat.stdin.write(`${JSON.stringify(message(i))}\n`);
  await done;
  const elapsed = performance.now() - start;
  cat.kill();
  return elapsed;
}

/** Baseline with the same parsing work: one write() per message, hand-split lines, JSON.parse each. */
async function rawParseRound(): Promise<number> {
  const cat = startCat();
  const start = performance.now();
  const done = new Promise<void>((resolve) => {
    let seen = 0;
    let rest = '';
    cat.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (JSON.parse(line) !== undefined) seen++;
      if (seen === MESSAGES) resolve();
    });
  });
  for (let i = 0; i < MESSAGES; i++) cat.stdin.write(`${JSON.stringify(message(i))}\n`);
  await done;
  const elapsed = performance.now() - start;
  cat.kill();
  return elapsed;
}

/** The channel on both sides: send() every message, parse every echoed line. */
async function channelRound(): Promise<number> {
  const cat = startCat();
  const channel = new JsonLinesChannel(cat.stdout, cat.stdin, { name: 'bench' });
  const start = performance.now();
  const done = new Promise<void>((resolve) => {
    let seen = 0;
    channel.onMessage(() => {
      if (++seen === MESSAGES) resolve();
    });
  });
  const sends: Promise<void>[] = [];
  for (let i = 0; i < MESSAGES; i++) sends.push(channel.send(message(i)));
  await Promise.all(sends);
  await done;
  const elapsed = performance.now() - start;
  channel.destroy();
  cat.kill();
  return elapsed;
}

/** Rounds of both variants alternate, so drift in machine load hits both alike. Returns medians. */
async function measure(variants: (() => Promise<number>)[]): Promise<number[]> {
  const times = variants.map((): number[] => []);
  for (let round = -5; round < ROUNDS; round++) {
    for (const [i, variant] of variants.entries()) {
      const elapsed = await variant();
      if (round >= 0) times[i]!.push(elapsed); // the first five rounds warm up
    }
  }
  return times.map((list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]!);
}

const names = [
  'raw pipe (write per message, count lines)',
  'raw pipe + split + JSON.parse',
  'JsonLinesChannel',
];
const medians = await measure([rawRound, rawParseRound, channelRound]);
const raw = medians[0]!;
console.log(`${MESSAGES} pipelined messages through cat and back, median of ${ROUNDS} alternating rounds`);
for (const [i, ms] of medians.entries()) {
  const rate = Math.round(MESSAGES / (ms / 1000)).toLocaleString('en');
  console.log(
    `${names[i]!.padEnd(42)} ${ms.toFixed(2).padStart(7)} ms ${rate.padStart(11)} msg/s  ${(ms / raw).toFixed(2)}x`,
  );
}
