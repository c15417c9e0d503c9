/**
 * The built-in recipes that do real work offline: `language-id` (py3langid's packaged model) and
 * `sentiment` (VADER's packaged lexicon). Their envs are built with uv from the package registry on
 * first use (venv mode; the uv cache makes later builds quick); nothing is downloaded at run time.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_RECIPES_DIR } from '../../src/paths.js';
import { createManager, tempDir } from '../helpers.js';

const ENV_BUILD_MS = 240_000;

describe('built-in recipe language-id', () => {
  it('identifies French, English, German, Spanish and Japanese sentences', {
    timeout: ENV_BUILD_MS,
  }, async () => {
    const manager = createManager({ envMode: 'venv' });
    const french = await manager.call('language-id', {
      text: "Bonjour, je m'appelle Marie et j'habite à Paris depuis dix ans.",
    });
    expect(french).toMatchObject({ language: 'fr' });
    expect((french as { confidence: number }).confidence).toBeGreaterThan(0.9);
    expect((french as { candidates: unknown[] }).candidates).toHaveLength(3);

    const batch = (await manager.call('language-id', {
      texts: [
        'The quick brown fox jumps over the lazy dog while the farmer watches.',
        'Ich habe heute keine Zeit, weil ich arbeiten muss.',
        '¿Dónde está la biblioteca? Necesito estudiar para mi examen.',
        '今日はとても良い天気ですね。散歩に行きましょう。',
      ],
      top: 1,
    })) as { results: { language: string }[] };
    expect(batch.results.map((result) => result.language)).toEqual(['en', 'de', 'es', 'ja']);
    await expect(manager.call('language-id', { text: '' })).rejects.toMatchObject({ code: 'HANDLER_ERROR' });
  });

  it('is served by its capability when the recipe is named otherwise', {
    timeout: ENV_BUILD_MS,
  }, async () => {
    // The built-in's name is its capability, so a call by name proves nothing: a copy named otherwise.
    const recipes = tempDir();
    const copy = join(recipes, 'langid-copy');
    cpSync(join(BUILTIN_RECIPES_DIR, 'language-id'), copy, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(copy, 'recipe.json'), 'utf8')) as Record<string, unknown>;
    delete manifest['$schema'];
    writeFileSync(
      join(copy, 'recipe.json'),
      JSON.stringify({ ...manifest, name: 'langid-copy', capability: 'language-detection' }),
    );
    const manager = createManager({ envMode: 'venv', recipePath: [recipes] });
    expect(
      await manager.call('language-detection', { text: 'Questo è un libro molto interessante.' }),
    ).toMatchObject({ language: 'it' });
    expect((await manager.list()).map((pod) => pod.recipe)).toEqual(['langid-copy']);
  });
});

describe('built-in recipe sentiment', () => {
  it('says "I love this" is positive, a complaint negative, a fact neutral', {
    timeout: ENV_BUILD_MS,
  }, async () => {
    const manager = createManager({ envMode: 'venv' });
    const love = (await manager.call('sentiment', { text: 'I love this' })) as {
      label: string;
      score: number;
    };
    expect(love.label).toBe('positive');
    expect(love.score).toBeGreaterThan(0.5);
    const batch = (await manager.call('sentiment', {
      texts: [
        'This is the worst service I have ever had. Terrible!',
        'The train leaves at 9 from platform 4.',
      ],
    })) as { results: { label: string; scores: Record<string, number> }[] };
    expect(batch.results.map((result) => result.label)).toEqual(['negative', 'neutral']);
    expect(Object.keys(batch.results[0]?.scores ?? {}).sort()).toEqual(['negative', 'neutral', 'positive']);
    await expect(manager.call('sentiment', { text: 42 })).rejects.toMatchObject({ code: 'HANDLER_ERROR' });
  });
});
