/**
 * Every code example of README.md and clients/python/README.md runs, as written, against a real
 * daemon (see readme-run.ts), offline: their dependencies come from a local wheelhouse
 * (test/online/ runs them from the registry). A block not marked `not-run` that cannot be run fails.
 */
import { describe, expect, it } from 'vitest';
import { matchesShown, parseBlocks } from './readme-blocks.js';
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

  it('takes a text block right after a run block as its output, and refuses one anywhere else', () => {
    const shown = '```sh\necho hi\n```\n\n```text\nhi\n```\n';
    expect(parseBlocks(shown)).toEqual([
      { line: 1, code: 'echo hi\n', do: 'run', kind: 'sh', output: 'hi\n' },
    ]);
    expect(() => parseBlocks('```text\nhi\n```\n')).toThrow(/put it right after the block that prints it/);
    expect(() => parseBlocks('```sh\necho hi\n```\nprose\n```text\nhi\n```\n')).toThrow(/right after/);
    expect(() => parseBlocks(`${shown}\n\`\`\`text\nagain\n\`\`\`\n`)).toThrow(/right after/);
  });

  it('compares output line by line, `…` standing for any text within a line', () => {
    expect(matchesShown('{"text": "HI!"}\n', '{"text": "HI!"}\n')).toBe(true);
    expect(matchesShown('{"text": "HI"}\n', '{"text": "HI!"}\n')).toBe(false);
    expect(matchesShown('pid 4242 (up 3 s)\n', 'pid … (up … s)\n')).toBe(true);
    expect(matchesShown('a.b\n', 'a*b\n')).toBe(false);
    expect(matchesShown('one\ntwo\n', 'one\n')).toBe(false);
  });
});
