/**
 * `recipes/recipe.schema.json`, generated from the zod schema of recipe.json. `npm run schemas`
 * writes it (scripts/export-recipe-schema.js); test/recipes-schema.test.ts fails when the committed
 * file differs from what this returns.
 */
import { z } from 'zod';
import { recipeSchema } from './schema.js';

export function recipeJsonSchema(): object {
  return {
    title: 'podkeeper recipe.json',
    ...z.toJSONSchema(recipeSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
  };
}

/** The file's exact text: two-space JSON and a final newline. */
export function recipeJsonSchemaText(): string {
  return `${JSON.stringify(recipeJsonSchema(), null, 2)}\n`;
}
