#!/usr/bin/env node
/**
 * How much of the raw pipe floor is CPU placement: the raw Node↔Python echo of echo-floor.js with
 * the Python process pinned to this process's CPU, pinned to another CPU, and left to the scheduler.
 * Linux only (uses `taskset`); run as `taskset -c 0 node scripts/floor-placement.js` so this side
 * is pinned too. Prints the p50 round trip of each placement; no assertions.
 */
import { performance } from 'node:perf_hooks';
import { percentile, rawEcho } from './echo-floor.js';

const python = process.env.PODKEEPER_PYTHON ?? 'python3';
const [same, other] = [process.env.SAME_CPU ?? '0', process.env.OTHER_CPU ?? '1'];

const sides = {
  [`python on CPU ${same} (this side's)`]: rawEcho(python, same),
  [`python on CPU ${other}`]: rawEcho(python, other),
  'python where the scheduler puts it': rawEcho(python),
};
const times = Object.fromEntries(Object.keys(sides).map((name) => [name, []]));
for (const side of Object.values(sides)) for (let i = 0; i < 500; i++) await side.call({ warm: i });
for (let round = 0; round < 6; round++) {
  for (const [name, side] of Object.entries(sides)) {
    for (let i = 0; i < 1000; i++) {
      const start = performance.now();
      await side.call({ text: 'hello', i });
      times[name].push(performance.now() - start);
    }
  }
}
for (const [name, values] of Object.entries(times)) {
  console.log(`${name.padEnd(40)} p50 ${(percentile(values, 50) * 1000).toFixed(1)} µs`);
}
for (const side of Object.values(sides)) side.close();
