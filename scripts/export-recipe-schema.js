#!/usr/bin/env node
/**
 * Writes recipes/recipe.schema.json from the zod schema of recipe.json (run: npm run schemas, which
 * builds first). test/recipes-schema.test.ts fails when the committed file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recipeJsonSchemaText } from '../dist/recipes/json-schema.js';

const out = join(import.meta.dirname, '..', 'recipes', 'recipe.schema.json');
writeFileSync(out, recipeJsonSchemaText());
console.log(`wrote ${out}`);
