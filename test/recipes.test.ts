/** Recipe manifests: validation names the file and the field; targets resolve by name or capability. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecipeCatalog, readRecipe } from '../src/index.js';
import { tempDir } from './helpers.js';

function recipeDir(root: string, name: string, manifest: unknown, entry = 'pod.py'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'recipe.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  writeFileSync(join(dir, entry), 'def process(payload, ctx):\n    return payload\n');
  return dir;
}

describe('recipe manifests', () => {
  it('fills defaults for a minimal recipe', async () => {
    const dir = recipeDir(tempDir(), 'mini', { name: 'mini', capability: 'echo', entry: 'pod.py' });
    const { recipe } = await readRecipe(dir);
    expect(recipe).toMatchObject({ name: 'mini', dependencies: [], concurrency: 1, env: {}, default: false });
    expect(recipe).toMatchObject({ minWarm: 0, replicas: { max: 1 } });
  });

  it.each([
    [{ capability: 'x', entry: 'pod.py' }, /name:/],
    [{ name: 'x', capability: 'x', entry: 'pod.py', concurency: 2 }, /unknown field "concurency"/],
    [{ name: 'x', capability: 'x', entry: 'pod.py', concurrency: 0 }, /concurrency:/],
    [{ name: 'x', capability: 'x', entry: '../escape.py' }, /entry: must be a relative path/],
    [{ name: 'Bad Name', capability: 'x', entry: 'pod.py' }, /name: must be/],
    [{ name: 'x', capability: 'x', entry: 'missing.py' }, /entry: "missing.py" does not exist/],
    [
      { name: 'x', capability: 'x', entry: 'pod.py', minWarm: 3, replicas: { max: 2 } },
      /minWarm: must not exceed replicas\.max/,
    ],
    [{ name: 'x', capability: 'x', entry: 'pod.py', minWarm: 2 }, /minWarm: must not exceed replicas\.max/],
    [{ name: 'x', capability: 'x', entry: 'pod.py', replicas: { max: 0 } }, /replicas\.max:/],
    [
      { name: 'x', capability: 'x', entry: 'pod.py', replicas: { maxx: 2 } },
      /unknown field "replicas\.maxx"/,
    ],
    ['{ not json', /cannot be read as JSON/],
  ])('rejects %j with INVALID_RECIPE naming the file and the field', async (manifest, message) => {
    const dir = recipeDir(tempDir(), 'bad', manifest);
    const error = await readRecipe(dir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_RECIPE' });
    expect((error as Error).message).toContain(join(dir, 'recipe.json'));
    expect((error as Error).message).toMatch(message);
  });

  it('collects invalid recipes as problems and serves the valid ones', async () => {
    const root = tempDir();
    recipeDir(root, 'good', { name: 'good', capability: 'echo', entry: 'pod.py' });
    recipeDir(root, 'bad', { name: 'bad', capability: 'echo', entry: 'pod.py', colour: 'red' });
    const catalog = await RecipeCatalog.load([{ dir: root, builtin: false }]);
    expect(catalog.list().map((r) => r.recipe.name)).toEqual(['good']);
    expect(catalog.problems).toHaveLength(1);
    expect(catalog.problems[0]?.error.message).toMatch(/bad.*recipe\.json.*unknown field "colour"/);
  });

  it('resolves a capability to the default recipe, else the first by name; earlier sources shadow later ones', async () => {
    const first = tempDir();
    const second = tempDir();
    recipeDir(first, 'b-embed', {
      name: 'b-embed',
      capability: 'embeddings',
      entry: 'pod.py',
      version: '2.0.0',
    });
    recipeDir(second, 'b-embed', {
      name: 'b-embed',
      capability: 'embeddings',
      entry: 'pod.py',
      version: '1.0.0',
    });
    recipeDir(second, 'a-embed', { name: 'a-embed', capability: 'embeddings', entry: 'pod.py' });
    const catalog = await RecipeCatalog.load([
      { dir: first, builtin: false },
      { dir: second, builtin: true },
    ]);
    expect(catalog.resolve('embeddings').recipe.name).toBe('a-embed');
    expect(catalog.resolve('b-embed').recipe.version).toBe('2.0.0');
    recipeDir(second, 'c-embed', {
      name: 'c-embed',
      capability: 'embeddings',
      entry: 'pod.py',
      default: true,
    });
    const again = await RecipeCatalog.load([{ dir: second, builtin: true }]);
    expect(again.resolve('embeddings').recipe.name).toBe('c-embed');
    expect(() => again.resolve('nothing')).toThrow(/No recipe or capability named "nothing"/);
  });
});
