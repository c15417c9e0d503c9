/**
 * The files generated from code stay in step with it: recipes/recipe.schema.json with the zod schema,
 * recipes/index.json with the catalog recipes it lists. Every recipe shipped in the repository is
 * valid, and the JSON Schema agrees with the zod schema on what it accepts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG_DIR, INDEX_FILE, packCatalog } from '../src/install/pack.js';
import { recipeIndexSchema } from '../src/install/recipe-index.js';
import { BUILTIN_RECIPES_DIR } from '../src/paths.js';
import { RecipeCatalog, readRecipe } from '../src/recipes/catalog.js';
import { recipeJsonSchema, recipeJsonSchemaText } from '../src/recipes/json-schema.js';
import { recipeSchema } from '../src/recipes/schema.js';

const SCHEMA_FILE = join(BUILTIN_RECIPES_DIR, 'recipe.schema.json');

describe('recipe.schema.json', () => {
  it('is what the zod schema exports (run `npm run schemas` when this fails)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(recipeJsonSchemaText());
  });

  it('requires name, capability and entry, and forbids unknown fields, like the zod schema', () => {
    const schema = recipeJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: object;
    };
    expect(schema.required.sort()).toEqual(['capability', 'entry', 'name']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(recipeSchema.shape).sort());
  });
});

describe('recipes shipped in the repository', () => {
  const dirs = [
    ...readdirSync(BUILTIN_RECIPES_DIR, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'catalog')
      .map((entry) => join(BUILTIN_RECIPES_DIR, entry.name)),
    ...readdirSync(CATALOG_DIR).map((name) => join(CATALOG_DIR, name)),
  ];

  it.each(dirs)('%s is a valid recipe', async (dir) => {
    const { recipe } = await readRecipe(dir);
    expect(dir.endsWith(`/${recipe.name}`)).toBe(true);
  });

  it('serves echo, language-id and sentiment built in; the catalog recipes only once installed', async () => {
    const catalog = await RecipeCatalog.load([{ dir: BUILTIN_RECIPES_DIR, builtin: true }]);
    const names = catalog.list().map((loaded) => loaded.recipe.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'language-id', 'sentiment']));
    for (const name of readdirSync(CATALOG_DIR)) expect(names).not.toContain(name);
  });

  it('the model recipes pin a revision; the file downloads carry a sha256', async () => {
    let files = 0;
    for (const name of readdirSync(CATALOG_DIR)) {
      const { recipe } = await readRecipe(join(CATALOG_DIR, name));
      if (recipe.model) expect(recipe.revision, name).toMatch(/^[0-9a-f]{7,40}$/);
      // Read as written, not as parsed: every file entry in recipe.json names its digest itself.
      const written = JSON.parse(readFileSync(join(CATALOG_DIR, name, 'recipe.json'), 'utf8')) as {
        files?: { sha256?: unknown }[];
      };
      for (const file of written.files ?? []) expect(file.sha256, name).toMatch(/^[0-9a-f]{64}$/);
      files += written.files?.length ?? 0;
    }
    expect(files, 'the catalog has file downloads to check').toBeGreaterThan(0);
    // And the schema refuses a download without one, or with a digest that is not a sha256.
    const base = { name: 'x', capability: 'x', entry: 'pod.py' };
    const file = { path: 'models/a.bin', url: 'https://example.com/a.bin' };
    expect(recipeSchema.safeParse({ ...base, files: [file] }).success).toBe(false);
    expect(recipeSchema.safeParse({ ...base, files: [{ ...file, sha256: 'abc' }] }).success).toBe(false);
    expect(recipeSchema.safeParse({ ...base, files: [{ ...file, sha256: 'a'.repeat(64) }] }).success).toBe(
      true,
    );
  });

  it('recipes/index.json lists the catalog recipes as packed now (run `npm run pack-recipes` when this fails)', async () => {
    const committed = recipeIndexSchema.parse(JSON.parse(readFileSync(INDEX_FILE, 'utf8')));
    const { index } = await packCatalog();
    expect(committed.recipes.map(({ url, ...rest }) => rest)).toEqual(
      index.recipes.map(({ url, ...rest }) => rest),
    );
    for (const [i, entry] of committed.recipes.entries()) {
      expect(entry.url.endsWith(index.recipes[i]?.url ?? '?')).toBe(true);
    }
  });
});
