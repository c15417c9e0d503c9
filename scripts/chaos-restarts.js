#!/usr/bin/env node
/**
 * External kills against the restart policy: four fixture recipes called in a loop while a timer
 * SIGKILLs a random live pod every 200 ms. Prints the outcome codes of the calls and how many
 * recipes went POD_FATAL. Give it other checkouts to compare side by side in one run (each must be
 * built): node scripts/chaos-restarts.js [REPO…]  (default: this one; CHAOS_CALLS=500 per recipe).
 * No assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repos = process.argv.length > 2 ? process.argv.slice(2) : [join(import.meta.dirname, '..')];
const perRecipe = Number(process.env.CHAOS_CALLS ?? 500);
const inputs = { echo: 1, 'async-pod': { n: 1 }, concurrent: { sleep: 0.01 }, 'crash-mid': {} };

for (const repo of repos.map((r) => resolve(r))) {
  const { PodManager } = await import(join(repo, 'dist', 'index.js'));
  const home = mkdtempSync(join(tmpdir(), 'pk-chaos-'));
  const manager = new PodManager({
    home,
    recipePath: [join(repo, 'test', 'fixtures', 'recipes')],
    stopGrace: 2,
  });
  const fatal = new Set();
  manager.events.on('event', (event) => {
    if (event.event === 'pod.fatal') fatal.add(event.recipe);
  });
  const killer = setInterval(async () => {
    const pods = (await manager.list()).filter((pod) => pod.pid);
    const victim = pods[Math.floor(Math.random() * pods.length)];
    try {
      if (victim) process.kill(victim.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }, 200);
  const codes = {};
  const started = performance.now();
  await Promise.all(
    Object.entries(inputs).map(async ([recipe, input]) => {
      for (let i = 0; i < perRecipe; i++) {
        const code = await manager.call(recipe, input).then(
          () => 'ok',
          (error) => error.code ?? 'error',
        );
        codes[code] = (codes[code] ?? 0) + 1;
      }
    }),
  );
  clearInterval(killer);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const calls = perRecipe * Object.keys(inputs).length;
  const ok = (((codes.ok ?? 0) / calls) * 100).toFixed(0);
  console.log(`${repo}: ${calls} calls in ${seconds} s, ${ok}% ok, fatal recipes: ${fatal.size}`, codes);
  await manager.close();
  rmSync(home, { recursive: true, force: true });
}
