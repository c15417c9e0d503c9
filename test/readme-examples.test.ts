/**
 * Every code example of README.md and clients/python/README.md runs, as written, against a real
 * daemon: TypeScript through the built dist (`podkeeper` and `podkeeper/client` resolved to ./dist),
 * Python through the Python client's source, shell through a `podkeeper` on PATH that is this
 * checkout's CLI. Blocks are run in order in one folder, so a `<!-- file: -->` block (a recipe's
 * files) is there for the commands after it. A block not marked `not-run` that cannot be run fails.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, childEnv, ROOT, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';
import { type Block, matchesShown, parseBlocks, readmeBlocks } from './readme-blocks.js';

const DIST = (path: string): string => pathToFileURL(join(ROOT, 'dist', path)).href;

/** Runs one block in `cwd`; the result names the block's line when it fails. */
function run(block: Extract<Block, { do: 'run' }>, cwd: string, env: NodeJS.ProcessEnv) {
  const file = join(cwd, `example-${block.line}.${{ ts: 'mts', python: 'py', sh: 'sh' }[block.kind]}`);
  const code =
    block.kind === 'ts'
      ? block.code
          .replaceAll(`from 'podkeeper/client'`, `from '${DIST('client/index.js')}'`)
          .replaceAll(`from 'podkeeper'`, `from '${DIST('index.js')}'`)
      : block.code;
  writeFileSync(file, code);
  const [command, ...args] =
    block.kind === 'ts'
      ? [process.execPath, file]
      : block.kind === 'python'
        ? ['python3', file]
        : ['bash', '-euo', 'pipefail', file];
  return spawnSync(command as string, args, { cwd, env, encoding: 'utf8', timeout: 45_000 });
}

async function runReadme(readme: string): Promise<number> {
  const blocks = readmeBlocks(join(ROOT, readme));
  const daemon = await startDaemon({ env: { PODKEEPER_RECIPE_PATH: undefined } });
  const work = tempDir('pk-readme-');
  const bin = join(work, '.bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'podkeeper'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(join(bin, 'podkeeper'), 0o755);
  const env = childEnv({
    PODKEEPER_HOME: daemon.home,
    PODKEEPER_SOCKET: daemon.socket,
    PODKEEPER_RECIPE_PATH: undefined,
    // uv keeps using this machine's cache (envs build offline from it); everything else is temporary
    UV_CACHE_DIR: process.env['UV_CACHE_DIR'] ?? join(homedir(), '.cache', 'uv'),
    HOME: tempDir('pk-readme-home-'),
    PATH: `${bin}:${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
    PYTHONPATH: join(ROOT, 'clients', 'python', 'src'),
  });
  let ran = 0;
  for (const block of blocks) {
    if (block.do === 'file') {
      mkdirSync(dirname(join(work, block.path)), { recursive: true });
      writeFileSync(join(work, block.path), block.code);
    } else if (block.do === 'run') {
      const result = run(block, work, env);
      const where = `${readme}:${block.line} (${block.kind})`;
      expect(result.status, `${where} failed:\n${block.code}\n${result.stdout}\n${result.stderr}`).toBe(0);
      if (block.output !== undefined) {
        const shown = `${where} printed:\n${result.stdout}\nwhere the README shows:\n${block.output}`;
        expect(matchesShown(result.stdout, block.output), shown).toBe(true);
      }
      ran++;
    }
  }
  return ran;
}

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
