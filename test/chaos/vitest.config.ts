import { defineConfig } from 'vitest/config';

// The long fault-injection runs (`npm run test:chaos`): chaos load, fuzzing at volume, spawn cycles.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
