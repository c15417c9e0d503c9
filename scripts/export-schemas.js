#!/usr/bin/env node
/**
 * Writes the JSON Schemas of the control protocol and recipe.json to docs/schemas/, generated from
 * the zod schemas. Run: npm run schemas (builds first). test/control-protocol.test.ts fails when the
 * committed files differ from what this writes.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { controlJsonSchemas, serialize } from '../dist/protocol/control-json-schema.js';

const out = join(import.meta.dirname, '..', 'docs', 'schemas');
rmSync(out, { recursive: true, force: true });
const files = controlJsonSchemas();
for (const [name, schema] of Object.entries(files)) {
  mkdirSync(dirname(join(out, name)), { recursive: true });
  writeFileSync(join(out, name), serialize(schema));
}
console.log(
  `wrote ${Object.keys(files).length} schemas to docs/schemas/ (${readdirSync(out).length} entries)`,
);
