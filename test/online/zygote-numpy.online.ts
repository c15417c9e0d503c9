/**
 * numpy from the package registry in a pod forked from a zygote: the same product, the BLAS threads
 * back after the fork, a different random seed per fork.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createManager, tempDir } from '../helpers.js';

const MATMUL = `
import os
import numpy as np


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
    }
`;

describe('numpy in a forked pod (the package registry)', () => {
  it('a threaded matmul gives the result of a normal pod, with as many threads; seeds differ per fork', {
    timeout: 240_000,
  }, async () => {
    const recipes = tempDir();
    mkdirSync(join(recipes, 'matmul'));
    writeFileSync(join(recipes, 'matmul', 'pod.py'), MATMUL);
    writeFileSync(
      join(recipes, 'matmul', 'recipe.json'),
      JSON.stringify({
        name: 'matmul',
        capability: 'matmul',
        entry: 'pod.py',
        dependencies: ['numpy'],
        preload: ['numpy'],
      }),
    );
    const home = tempDir();
    type Product = { checksum: number; corner: number[][]; threads: number; random: number };
    const normal = createManager({ home, recipePath: [recipes], zygotes: false, envBuildTimeout: 200 });
    const expected = (await normal.call('matmul', {}, { timeout: 60 })) as Product;
    await normal.close();
    const forking = createManager({ home, recipePath: [recipes] });
    expect(await forking.startZygote('matmul')).toEqual(expect.any(Number));
    const first = (await forking.call('matmul', {})) as Product;
    await forking.stop({ target: 'matmul' });
    const second = (await forking.call('matmul', {})) as Product;
    for (const forked of [first, second]) {
      expect(forked.checksum).toBe(expected.checksum);
      expect(forked.corner).toEqual(expected.corner);
      expect(forked.threads).toBe(expected.threads); // the BLAS pool came back after the fork
    }
    expect(second.random).not.toBe(first.random);
  });
});
