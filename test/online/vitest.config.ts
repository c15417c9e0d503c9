import { defineConfig } from 'vitest/config';

/**
 * `npm run test:online`: the tests that need the package registry (PyPI) — the built-in recipes'
 * real dependencies, huggingface_hub, runpod-flash, a plain install. `npm test` runs offline.
 */
export default defineConfig({
  test: {
    root: `${import.meta.dirname}/../..`,
    include: ['test/online/**/*.online.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
