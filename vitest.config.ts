import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * `npm test`: offline (the tests that need the package registry are in test/online/, run by
 * `npm run test:online`). Most of a test's time is spent waiting on child processes (pods, daemons,
 * uv), not on a core, so it runs more files at once than there are cores; PODKEEPER_TEST_WORKERS
 * overrides. PODKEEPER_COVERAGE=1 adds v8 coverage of src/ (the code run in the test process: the
 * daemons and CLIs the tests start as children are not measured).
 */
const workers = Number(process.env['PODKEEPER_TEST_WORKERS']) || availableParallelism() + 1;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: workers,
    coverage: {
      enabled: process.env['PODKEEPER_COVERAGE'] === '1',
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
    },
  },
});
