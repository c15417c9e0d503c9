/**
 * Catalog recipes pin what they install: each dependency has an exact version or an upper bound, so
 * a new major (one that warns on every start, or breaks an API) never reaches a user's install
 * untested. `npm run pack-recipes` keeps the index's sha256s in step (install-catalog checks them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CATALOG = join(import.meta.dirname, '..', 'recipes', 'catalog');

describe('catalog recipes', () => {
  it('bound every dependency from above (== or <)', () => {
    const unbounded: string[] = [];
    for (const name of readdirSync(CATALOG)) {
      const recipe = JSON.parse(readFileSync(join(CATALOG, name, 'recipe.json'), 'utf8')) as {
        dependencies?: string[];
      };
      for (const dependency of recipe.dependencies ?? []) {
        const specifier = dependency.split(';')[0] ?? '';
        if (!/(==|<|~=)/.test(specifier)) unbounded.push(`${name}: ${dependency}`);
      }
    }
    expect(unbounded).toEqual([]);
  });
});
