/**
 * Every code example of README.md and clients/python/README.md runs, as written, against a real
 * daemon (see readme-run.ts), offline: their dependencies come from a local wheelhouse
 * (test/online/ runs them from the registry). A block not marked `not-run` that cannot be run fails.
 */
import { describe, expect, it } from 'vitest';
import { parseBlocks } from './readme-blocks.js';
import { runReadme } from './readme-run.js';

describe('README examples', () => {
  it('runs every code example of README.md', async () => {
    expect(await runReadme('README.md')).toBeGreaterThanOrEqual(4);
  }, 120_000);

  it('runs every code example of clients/python/README.md', async () => {
    expect(await runReadme('clients/python/README.md')).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('refuses a block it cannot run unless the README says why it is not run', () => {
    const table = '```\npodkeeper status\n```\n';
    expect(() => parseBlocks(table)).toThrow(/`plain` block the README test cannot run/);
    expect(() => parseBlocks('```json\n{}\n```\n')).toThrow(/cannot run/);
    expect(() => parseBlocks(`<!-- not-run: -->\n${table}`)).toThrow(/must give its reason/);
    expect(parseBlocks(`<!-- not-run: a synopsis -->\n${table}`)).toEqual([
      { line: 2, code: 'podkeeper status\n', do: 'skip', reason: 'a synopsis' },
    ]);
    expect(parseBlocks('<!-- file: r/recipe.json -->\n```json\n{}\n```\n')[0]).toMatchObject({
      do: 'file',
      path: 'r/recipe.json',
    });
  });
});
