/** A recipe's env built by uv from the package registry itself (online). */
import { describe, expect, it } from 'vitest';
import { fileTempDir, type ProbeResult, writeRecipe } from '../fixtures/env/helpers.js';
import { createManager, tempDir } from '../helpers.js';

const uvCache = fileTempDir('podkeeper-uv-cache-');

describe('registry', () => {
  it('installs a small package from the package registry', { timeout: 90_000 }, async () => {
    const recipes = writeRecipe(tempDir(), { name: 'six', dependencies: ['six'], modules: ['six'] });
    const manager = createManager({
      envMode: 'venv',
      recipePath: [recipes],
      env: { UV_CACHE_DIR: uvCache, UV_NO_CONFIG: '1' },
    });
    const result = (await manager.call('six', {})) as ProbeResult;
    expect(result.versions['six']).toMatch(/^\d+\.\d+/);
  });
});
