/**
 * torch + sentence_transformers from a zygote: the catalog embeddings recipe's env and model
 * (all-MiniLM-L6-v2 from its PyPI package, offline) in a recipe that preloads torch,
 * sentence_transformers and the model, loaded and warmed up on one torch thread so that the zygote
 * runs no thread (test/heavy/fixtures/minilm). A pod forked from the
 * zygote embeds as a normally started one does, runs torch's thread pool, and is told apart by
 * `preloadedIn` (the pid of the process that ran the preload: the zygote's, or null). Prints the
 * figures of issue 14 (cold call and private memory, forked vs normal); it asserts no timing.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import type { PodManager } from '../../src/index.js';
import { readPrivateBytes, readResidentBytes } from '../../src/manager/process-table.js';
import { createManager, eventually, recordEvents, tempDir } from '../helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const ROUNDS = 3;
/** One home for both tests: the PyTorch env (gigabytes) is built once. */
const HOME = mkdtempSync(join(tmpdir(), 'pk-heavy-zygote-'));
afterAll(() => rmSync(HOME, { recursive: true, force: true }));
/**
 * Embeddings are float32 from the same weights, input and kernels; a forked pod may still sum in
 * another order (MKL and oneDNN pick code paths by buffer alignment, which differs per process),
 * a few float32 ulps (~1e-8 at these magnitudes). Two different sentences differ by ~1e-1.
 */
const TOLERANCE = 1e-6;

interface Answer {
  embeddings: number[][];
  checksum: number;
  torchThreads: number;
  threadsRanInMatmul: number;
  preloadedIn: number | null;
  pid: number;
  guardian: number;
}

interface ColdCall {
  ms: number;
  readyMs: number;
  answer: Answer;
  /** Private_Clean + Private_Dirty and Rss of the pod's processes, MB, idle after its first call. */
  privateMB: number;
  rssMB: number;
}

/** A cold call (no pod running: spawn, ready, first answer), then the pod's memory, then a stop. */
async function coldCall(manager: PodManager, name: string): Promise<ColdCall> {
  const events = recordEvents(manager);
  const started = performance.now();
  const answer = (await manager.call(name, {}, { timeout: 600 })) as Answer;
  const ms = performance.now() - started;
  const spawned = events.find((e) => e.event === 'pod.spawned');
  const ready = events.find((e) => e.event === 'pod.ready');
  // runner and guardian: the pid pod.spawned names is the guardian for both kinds (a forked pod has no stand-in)
  const pids = new Set([
    answer.pid,
    answer.guardian,
    spawned?.event === 'pod.spawned' ? spawned.pid : undefined,
  ]);
  let privateBytes = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    if (pid === undefined) continue;
    privateBytes += (await readPrivateBytes(pid)) ?? Number.NaN;
    rssBytes += (await readResidentBytes(pid)) ?? Number.NaN;
  }
  await manager.stop({ target: name });
  return {
    ms,
    readyMs: ready?.event === 'pod.ready' ? ready.spawnToReadyMs : Number.NaN,
    answer,
    privateMB: privateBytes / 2 ** 20,
    rssMB: rssBytes / 2 ** 20,
  };
}

function maxDifference(a: number[][], b: number[][]): number {
  expect(a.map((row) => row.length)).toEqual(b.map((row) => row.length));
  return Math.max(
    ...a.flatMap((row, i) => row.map((value, j) => Math.abs(value - (b[i]?.[j] ?? Number.NaN)))),
  );
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const round = (value: number) => Math.round(value * 10) / 10;

/** The same inference; torch's pool as wide in both (and more than one thread where the machine has them). */
function expectSameInference(forked: Answer, normal: Answer): void {
  expect(maxDifference(forked.embeddings, normal.embeddings)).toBeLessThanOrEqual(TOLERANCE);
  expect(forked.embeddings).toHaveLength(3);
  expect(forked.checksum).toBe(normal.checksum); // integer-valued: exact in any summation order
  expect(forked.torchThreads).toBe(normal.torchThreads);
  if (cpus().length > 1) expect(forked.torchThreads).toBeGreaterThan(1);
  if (cpus().length > 1 && process.platform === 'linux') expect(forked.threadsRanInMatmul).toBeGreaterThan(1); // the pool really ran in the child (/proc)
}

describe('torch + sentence_transformers preloaded in a zygote', () => {
  it('a forked pod embeds as a normal one, with torch threads, at a fraction of the cold start and memory', async () => {
    const options = {
      home: HOME,
      recipePath: [FIXTURES],
      builtinRecipes: false,
      idleTimeout: -1,
      envBuildTimeout: 1800,
    };
    const normal = createManager({ ...options, zygotes: false });
    await normal.call('minilm', {}, { timeout: 600 }); // builds the env (uv: PyTorch from PyPI or its cache)
    await normal.stop({ target: 'minilm' });
    const forking = createManager(options);
    const zygote = await forking.startZygote('minilm');
    expect(zygote).toEqual(expect.any(Number));

    const sides: Record<'normal' | 'forked', ColdCall[]> = { normal: [], forked: [] };
    for (let i = 0; i < ROUNDS; i++) {
      sides.normal.push(await coldCall(normal, 'minilm'));
      sides.forked.push(await coldCall(forking, 'minilm'));
    }
    for (const { answer } of sides.normal) expect(answer.preloadedIn).toBeNull(); // no preload ran
    const expected = sides.normal[0]?.answer as Answer;
    for (const { answer } of sides.forked) {
      expect(answer.preloadedIn).toBe(zygote); // forked, not started normally after a refusal
      expect(answer.pid).not.toBe(zygote);
      expectSameInference(answer, expected);
    }
    const figure = (side: 'normal' | 'forked', key: 'ms' | 'readyMs' | 'privateMB' | 'rssMB') =>
      round(median(sides[side].map((call) => call[key])));
    const figures = {
      rounds: ROUNDS,
      coldCallMs: { normal: figure('normal', 'ms'), forked: figure('forked', 'ms') },
      spawnToReadyMs: { normal: figure('normal', 'readyMs'), forked: figure('forked', 'readyMs') },
      privateMB: { normal: figure('normal', 'privateMB'), forked: figure('forked', 'privateMB') },
      rssMB: { normal: figure('normal', 'rssMB'), forked: figure('forked', 'rssMB') },
      zygote: { privateMB: round(((await readPrivateBytes(zygote ?? 0)) ?? 0) / 2 ** 20) },
      torchThreads: expected.torchThreads,
      embeddingsMaxDifference: maxDifference(sides.forked[0]?.answer.embeddings ?? [], expected.embeddings),
    };
    console.log(
      `FIGURES ${JSON.stringify({
        ...figures,
        coldCallRatio: round((figures.coldCallMs.forked / figures.coldCallMs.normal) * 1000) / 1000,
        privateRatio: round((figures.privateMB.forked / figures.privateMB.normal) * 1000) / 1000,
      })}`,
    );
  });

  it('a torch op in preload starts its thread pool: ZYGOTE_THREADS, and the pod starts normally', async () => {
    // The same recipe whose preload computes with torch (minilm_model.preload_and_compute).
    const recipes = tempDir('pk-heavy-zygote-');
    const dir = join(recipes, 'minilm-run');
    cpSync(join(FIXTURES, 'minilm'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'recipe.json'), 'utf8')) as Record<string, unknown>;
    manifest['name'] = 'minilm-run';
    manifest['preload'] = ['torch', 'sentence_transformers', 'minilm_model:preload_and_compute'];
    writeFileSync(join(dir, 'recipe.json'), JSON.stringify(manifest));
    const manager = createManager({ home: HOME, recipePath: [recipes], envBuildTimeout: 1800 });
    const events = recordEvents(manager);
    await manager.call('minilm-run', {}, { timeout: 600 }); // the zygote starts meanwhile
    expect(await manager.startZygote('minilm-run')).toEqual(expect.any(Number));
    await manager.stop({ target: 'minilm-run' });
    const answer = (await manager.call('minilm-run', {}, { timeout: 600 })) as Answer;
    expect(answer.preloadedIn).toBeNull(); // refused: started normally
    const refused =
      /ZYGOTE_THREADS: .*native thread\(s\) were started after the preload imports.*starting the pod without it/;
    const logs = () => events.flatMap((e) => (e.event === 'pod.log' ? [e.message] : []));
    expect(await eventually(() => logs().some((line) => refused.test(line)), 10_000)).toBe(true);
  });
});
