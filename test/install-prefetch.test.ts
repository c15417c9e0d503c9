/**
 * Prefetch at install time of a recipe's `files` (URL + sha256, cached by digest), from a loopback
 * server. The `model` prefetch needs huggingface_hub from the registry: test/online/.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { installFixture, startServer, writeRecipe } from './install-helpers.js';

describe('prefetch at install time', () => {
  it('downloads `files` checked by sha256 into the recipe, from the cache the second time', async () => {
    const server = await startServer();
    const vocab = 'a b c d e\n'.repeat(1000);
    const sha256 = createHash('sha256').update(vocab).digest('hex');
    server.file('/vocab.txt', vocab);
    const fx = installFixture();
    const recipe = (version: string, digest = sha256) =>
      writeRecipe({
        name: 'with-files',
        version,
        manifest: { files: [{ path: 'data/vocab.txt', url: `${server.url}/vocab.txt`, sha256: digest }] },
        code: 'import os\n\ndef process(payload, ctx):\n    return os.path.getsize(os.path.join(ctx.recipe_dir, "data", "vocab.txt"))\n',
      });
    await fx.install(recipe('1.0.0'));
    expect(await fx.manager.call('with-files', null)).toBe(vocab.length);
    await fx.install(recipe('1.1.0'));
    expect(server.hits.filter((hit) => hit === 'GET /vocab.txt')).toHaveLength(1);
    expect(fx.progress).toContainEqual(
      expect.objectContaining({ step: 'prefetch', message: expect.stringMatching(/cached$/) }),
    );

    const wrong = 'cd'.repeat(32);
    const error = await fx.install(recipe('1.2.0', wrong)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INTEGRITY_ERROR', details: { expected: wrong, actual: sha256 } });
    expect(await fx.manager.call('with-files', null)).toBe(vocab.length);
  });
});
