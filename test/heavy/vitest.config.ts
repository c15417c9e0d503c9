import { defineConfig } from 'vitest/config';

/** `npm run test:heavy`: the catalog recipes on real PyTorch (gigabytes; never part of `npm test`). */
export default defineConfig({
  test: {
    root: `${import.meta.dirname}/../..`,
    include: ['test/heavy/**/*.heavy.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
