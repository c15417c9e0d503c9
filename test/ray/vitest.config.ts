import { defineConfig } from 'vitest/config';

/**
 * `npm run test:ray`: pods on a real three-node Ray cluster on loopback (test/ray/cluster.py). Needs
 * PyPI once for `ray` (installed with uv into a throwaway env, never the machine's Python) and
 * ~2 GB of RAM while the cluster runs; never part of `npm test`.
 */
export default defineConfig({
  test: {
    root: `${import.meta.dirname}/../..`,
    include: ['test/ray/**/*.ray.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
