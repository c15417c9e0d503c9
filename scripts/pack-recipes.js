#!/usr/bin/env node
/**
 * Packs the catalog recipes (recipes/catalog/*) into reproducible tarballs and writes the recipe
 * index with their sha256s (run: npm run pack-recipes, which builds first).
 *
 *   node scripts/pack-recipes.js [--out DIR] [--base-url URL]
 *
 * Writes DIR/<name>-<version>.tar.gz and DIR/index.json (DIR defaults to recipes/, next to the
 * bundled index, where the tarballs are git-ignored), and refreshes the committed recipes/index.json.
 * Publish index.json with the tarballs (a release, a folder on a web server) and point
 * PODKEEPER_INDEX_URL at it. Without --base-url the index's urls are relative to the index itself.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { INDEX_FILE, packCatalog, serializeIndex } from '../dist/install/pack.js';

const { values } = parseArgs({
  options: { out: { type: 'string' }, 'base-url': { type: 'string' } },
});
const out = resolve(values.out ?? join(import.meta.dirname, '..', 'recipes'));
const baseUrl = values['base-url'] ?? '';
const { packed, index } = await packCatalog(undefined, baseUrl);
mkdirSync(out, { recursive: true });
for (const recipe of packed) {
  writeFileSync(join(out, recipe.file), recipe.bytes);
  console.log(`${recipe.file}  ${recipe.bytes.length} bytes  sha256 ${recipe.entry.sha256}`);
}
writeFileSync(join(out, 'index.json'), serializeIndex(index));
if (resolve(join(out, 'index.json')) !== INDEX_FILE) writeFileSync(INDEX_FILE, serializeIndex(index));
console.log(`wrote ${join(out, 'index.json')} (${packed.length} recipes)`);
