import { defineConfig } from 'vitest/config';

/**
 * The slow process-lifecycle fault cases (`npx vitest run --config test/chaos/vitest.procs.config.ts`,
 * after `npm run build`). The files also match a `test/chaos/**\/*.chaos.ts` suite config.
 */
export default defineConfig({
  test: {
    root: `${import.meta.dirname}/../..`,
    include: ['test/chaos/spawn-cycles.chaos.ts'],
    testTimeout: 900_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
