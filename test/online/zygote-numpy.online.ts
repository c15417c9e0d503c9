/**
 * numpy from the package registry in a pod forked from a zygote: the same product, the BLAS threads
 * back after the fork, a different random seed per fork. Each forked answer names the process that
 * ran the preload (`marker.preload`): the zygote, so the pod was really forked and not started
 * normally after a refusal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createManager, tempDir } from '../helpers.js';

const MARKER =
  'import os\nPRELOADED_IN = None\n\ndef preload():\n    global PRELOADED_IN\n    PRELOADED_IN = os.getpid()\n';

const MATMUL = `
import os
import numpy as np
import marker


def process(payload, ctx):
    # Integer-valued, so the product is exact whatever order the BLAS threads sum in.
    a = (np.arange(600 * 600) % 7).astype(np.float64).reshape(600, 600)
    b = (np.arange(600 * 600) % 5).astype(np.float64).reshape(600, 600).T.copy()
    product = a @ b
    return {
        "checksum": float(product.sum()),
        "corner": product[:2, :2].tolist(),
        "threads": len(os.listdir("/proc/self/task")),
        "random": float(np.random.random()),
        "preloadedIn": marker.PRELOADED_IN,
    }
`;

describe('numpy in a forked pod (the package registry)', () => {
  it('a threaded matmul gives the result of a normal pod, with as many threads; seeds differ per fork', {
    timeout: 240_000,
  }, async () => {
    const recipes = tempDir();
    mkdirSync(join(recipes, 'matmul'));
    writeFileSync(join(recipes, 'matmul', 'pod.py'), MATMUL);
    writeFileSync(join(recipes, 'matmul', 'marker.py'), MARKER);
    writeFileSync(
      join(recipes, 'matmul', 'recipe.json'),
      JSON.stringify({
        name: 'matmul',
        capability: 'matmul',
        entry: 'pod.py',
        dependencies: ['numpy'],
        preload: ['numpy', 'marker:preload'],
      }),
    );
    const home = tempDir();
    type Product = {
      checksum: number;
      corner: number[][];
      threads: number;
      random: number;
      preloadedIn: number | null;
    };
    const normal = createManager({ home, recipePath: [recipes], zygotes: false, envBuildTimeout: 200 });
    const expected = (await normal.call('matmul', {}, { timeout: 60 })) as Product;
    expect(expected.preloadedIn).toBeNull(); // started normally: no preload ran
    await normal.close();
    const forking = createManager({ home, recipePath: [recipes] });
    const zygote = await forking.startZygote('matmul');
    expect(zygote).toEqual(expect.any(Number));
    const first = (await forking.call('matmul', {})) as Product;
    await forking.stop({ target: 'matmul' });
    const second = (await forking.call('matmul', {})) as Product;
    for (const forked of [first, second]) {
      expect(forked.preloadedIn).toBe(zygote); // forked, not started normally after a refusal
      expect(forked.checksum).toBe(expected.checksum);
      expect(forked.corner).toEqual(expected.corner);
      expect(forked.threads).toBe(expected.threads); // the BLAS pool came back after the fork
    }
    expect(second.random).not.toBe(first.random);
  });
});
