/**
 * The catalog from a clone: the bundled index lists tarballs that are git-ignored and built only by
 * `npm run pack-recipes`. An index entry whose archive is absent is packed from the catalog folder
 * beside the index (recipes/catalog/<name>), and that packing must match the index's sha256.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packCatalog, serializeIndex } from '../src/install/pack.js';
import { fetchRecipe, type SourceOptions } from '../src/install/source.js';
import { BUILTIN_RECIPES_DIR } from '../src/paths.js';
import { tempDir } from './helpers.js';
import { installFixture, writeRecipe } from './install-helpers.js';

/** recipes/index.json and recipes/catalog/ as a fresh clone has them: no tarballs. */
function cloneRecipes(): string {
  const root = tempDir('pk-clone-');
  cpSync(join(BUILTIN_RECIPES_DIR, 'index.json'), join(root, 'index.json'));
  cpSync(join(BUILTIN_RECIPES_DIR, 'catalog'), join(root, 'catalog'), { recursive: true });
  return root;
}

function sourceOptions(indexUrl: string): SourceOptions & { steps: string[] } {
  const steps: string[] = [];
  return {
    steps,
    workDir: tempDir('pk-work-'),
    indexUrl,
    maxArchiveBytes: 64 * 1024 * 1024,
    unpacked: { maxBytes: 256 * 1024 * 1024, maxEntries: 10_000 },
    retry: { attempts: 1, backoffMs: 10, stallMs: 5000 },
    progress: (step, _fraction, message) => steps.push(`${step}: ${message}`),
  };
}

describe('install from the catalog of a clone', () => {
  it('gets `embeddings` past the archive step with no tarball, checked against the index sha256', async () => {
    const root = cloneRecipes();
    expect(existsSync(join(root, 'embeddings-1.1.0.tar.gz'))).toBe(false);
    const options = sourceOptions(join(root, 'index.json'));
    const fetched = await fetchRecipe('embeddings', options);
    const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as {
      recipes: { name: string; sha256: string }[];
    };
    expect(fetched.sha256).toBe(index.recipes.find((r) => r.name === 'embeddings')?.sha256);
    expect(fetched.indexName).toBe('embeddings');
    expect(JSON.parse(readFileSync(join(fetched.dir, 'recipe.json'), 'utf8'))).toMatchObject({
      name: 'embeddings',
    });
    expect(options.steps.join('\n')).toMatch(/packing .*catalog\/embeddings/);
  });

  it('refuses a catalog folder that no longer matches the index', async () => {
    const root = cloneRecipes();
    writeFileSync(join(root, 'catalog', 'embeddings', 'extra.py'), '# changed after packing\n');
    await expect(fetchRecipe('embeddings', sourceOptions(join(root, 'index.json')))).rejects.toMatchObject({
      code: 'INTEGRITY_ERROR',
      message: expect.stringMatching(/npm run pack-recipes/),
    });
  });

  it('installs and serves a catalog recipe whose tarball was never built', async () => {
    const root = tempDir('pk-clone-');
    writeRecipe({ name: 'tiny' }, join(root, 'catalog'));
    const { index } = await packCatalog(join(root, 'catalog'));
    writeFileSync(join(root, 'index.json'), serializeIndex(index));
    const fx = installFixture({ indexUrl: join(root, 'index.json') });
    const summary = await fx.install('tiny');
    expect(summary).toMatchObject({ name: 'tiny', version: '1.0.0' });
    expect(await fx.manager.call('tiny', 'x')).toMatchObject({ name: 'tiny', input: 'x' });
  });
});
