/**
 * The layer order drawn in docs/architecture.md and listed in README's Layout is the order the lint
 * rule (.dependency-cruiser.cjs) enforces on the imports.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const config = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as {
  forbidden: { name: string }[];
};
/** The layers, lowest first, as the lint rule orders them (the top one, index.ts, has no rule). */
const LINTED = config.forbidden
  .map((rule) => /^(.+)-imports-no-layer-above$/.exec(rule.name)?.[1])
  .filter((name): name is string => name !== undefined && name !== 'core');

describe('the documented layers', () => {
  it('are drawn in docs/architecture.md in the order the lint rule enforces (higher layers higher up)', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const diagram = /## Layers[\s\S]*?```\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const lines = diagram.split('\n');
    // A layer's label stands between spaces or box-drawing characters, not inside a description.
    const row = (layer: string) =>
      lines.findIndex((line) => new RegExp(`(^|[\\s│─▶◀┘┐┤])${layer}(?=[\\s─▶◀]|$)`).test(line));
    expect(LINTED).toContain('install');
    const rows = LINTED.map((layer) => ({ layer, row: row(layer) }));
    expect(rows.filter(({ row }) => row < 0)).toEqual([]);
    for (let i = 1; i < rows.length; i++)
      expect(rows[i]?.row, rows[i]?.layer).toBeLessThanOrEqual(rows[i - 1]?.row ?? 0);
  });

  it("are listed in README's Layout lowest first, in the same order", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^src\/(\w+)\s/gm)].map((match) => match[1]);
    expect(listed).toEqual(LINTED);
  });
});
