/** The control protocol's definition: committed JSON Schemas are current, and docs/protocol.md's examples are valid. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONTROL_ACTIONS,
  controlPayloadSchemas,
  controlRequestSchema,
  isControlAction,
} from '../src/protocol/control.js';
import { controlJsonSchemas, serialize } from '../src/protocol/control-json-schema.js';
import { controlServerLineSchema } from '../src/protocol/control-replies.js';

const DOCS = join(import.meta.dirname, '..', 'docs');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('JSON Schemas in docs/schemas', () => {
  it('are exactly what the zod schemas generate (run `npm run schemas` when this fails)', () => {
    const expected = controlJsonSchemas();
    const committed = filesUnder(join(DOCS, 'schemas')).map((file) => relative(join(DOCS, 'schemas'), file));
    expect(committed.sort()).toEqual(Object.keys(expected).sort());
    for (const [name, schema] of Object.entries(expected)) {
      expect(readFileSync(join(DOCS, 'schemas', name), 'utf8'), `docs/schemas/${name} is stale`).toBe(
        serialize(schema),
      );
    }
  });

  it('cover every action, payload and result', () => {
    for (const action of CONTROL_ACTIONS) {
      expect(controlJsonSchemas()).toHaveProperty([`actions/${action}.payload.json`]);
      expect(controlJsonSchemas()).toHaveProperty([`actions/${action}.result.json`]);
    }
  });
});

describe('docs/protocol.md', () => {
  const text = readFileSync(join(DOCS, 'protocol.md'), 'utf8');
  const sent = [...text.matchAll(/^→ (\{.*\})$/gm)].map(
    (m) => JSON.parse(m[1] as string) as Record<string, unknown>,
  );
  const received = [...text.matchAll(/^← (\{.*\})$/gm)].map((m) => JSON.parse(m[1] as string) as unknown);

  it('shows every action', () => {
    const shown = new Set(sent.map((request) => request['action']));
    for (const action of CONTROL_ACTIONS) {
      if (action === 'logs.follow' || action === 'recipes.remove') continue; // described in prose with their siblings
      expect(shown, action).toContain(action);
    }
  });

  it('has requests that parse, with valid payloads (except the malformed ones it shows on purpose)', () => {
    for (const request of sent) {
      const envelope = controlRequestSchema.parse(request);
      if (!isControlAction(envelope.action)) continue;
      const payload = controlPayloadSchemas[envelope.action].safeParse(envelope.payload ?? {});
      if (envelope.id === 'b') expect(payload.success).toBe(false);
      else expect(payload.success, JSON.stringify(request)).toBe(true);
    }
  });

  it('has daemon lines that parse', () => {
    for (const line of received)
      expect(controlServerLineSchema.safeParse(line).success, JSON.stringify(line)).toBe(true);
  });
});
