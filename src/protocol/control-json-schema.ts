/**
 * JSON Schemas of the control protocol, generated from the zod schemas, for people writing a host in
 * another language. `npm run schemas` writes them to docs/schemas/ (scripts/export-schemas.js); a
 * test fails when the committed files are stale. (recipe.json's schema is exported by
 * src/recipes/json-schema.ts.)
 */
import { z } from 'zod';
import { CONTROL_ACTIONS, controlPayloadSchemas, controlRequestSchema } from './control.js';
import {
  controlChunkSchema,
  controlEventSchema,
  controlProgressSchema,
  controlResponseSchema,
} from './control-replies.js';
import { controlResultSchemas } from './control-results.js';

function convert(schema: z.ZodType, io: 'input' | 'output', _name: string, title: string): object {
  return {
    title,
    ...z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }),
  };
}

/** File name (relative to docs/schemas/) → JSON Schema. */
export function controlJsonSchemas(): Record<string, object> {
  const files: Record<string, object> = {
    'control-request.json': convert(controlRequestSchema, 'input', 'control-request.json', 'Control request'),
    'control-response.json': convert(
      controlResponseSchema,
      'output',
      'control-response.json',
      'Final answer',
    ),
    'control-event.json': convert(controlEventSchema, 'output', 'control-event.json', 'Stream event'),
    'control-progress.json': convert(
      controlProgressSchema,
      'output',
      'control-progress.json',
      'Call progress',
    ),
    'control-chunk.json': convert(controlChunkSchema, 'output', 'control-chunk.json', 'Call chunk'),
  };
  for (const action of CONTROL_ACTIONS) {
    files[`actions/${action}.payload.json`] = convert(
      controlPayloadSchemas[action],
      'input',
      `actions/${action}.payload.json`,
      `${action} payload`,
    );
    files[`actions/${action}.result.json`] = convert(
      controlResultSchemas[action],
      'output',
      `actions/${action}.result.json`,
      `${action} result`,
    );
  }
  return files;
}

export function serialize(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
