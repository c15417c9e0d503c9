/**
 * Runs the code examples of a README as written, against a real daemon: TypeScript through the built
 * dist (`podkeeper` and `podkeeper/client` resolved to ./dist), Python through the Python client's
 * source, shell through a `podkeeper` on PATH that is this checkout's CLI. Blocks are run in order
 * in one folder, so a `<!-- file: -->` block (a recipe's files) is there for the commands after it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { BIN, childEnv, ROOT, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';
import { type Block, matchesShown, readmeBlocks } from './readme-blocks.js';

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

/**
 * Offline, the examples install their dependencies (stand-ins for `six` and `numpy`, python-exec's
 * cloudpickle) from a wheelhouse made here, with uv offline on a private cache: no network, and
 * nothing taken from this machine's uv cache. Online they come from the package registry.
 */
function offlineInstalls(): Record<string, string> {
  const wheels = tempDir('pk-readme-wheels-');
  execFileSync('python3', [join(ROOT, 'test', 'fixtures', 'readme', 'make_wheels.py'), wheels]);
  return {
    PODKEEPER_WHEELHOUSE: wheels,
    UV_OFFLINE: '1',
    UV_NO_CONFIG: '1',
    UV_CACHE_DIR: tempDir('pk-readme-uv-cache-'),
  };
}

/** Runs every block of `readme` in order; the number run. `online`: dependencies from the registry. */
export async function runReadme(readme: string, { online = false } = {}): Promise<number> {
  const blocks = readmeBlocks(join(ROOT, readme));
  const installs = online
    ? { UV_CACHE_DIR: process.env['UV_CACHE_DIR'] ?? join(homedir(), '.cache', 'uv') }
    : offlineInstalls();
  const daemon = await startDaemon({ env: { PODKEEPER_RECIPE_PATH: undefined, ...installs } });
  const work = tempDir('pk-readme-');
  const bin = join(work, '.bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'podkeeper'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(join(bin, 'podkeeper'), 0o755);
  const env = childEnv({
    PODKEEPER_HOME: daemon.home,
    PODKEEPER_SOCKET: daemon.socket,
    PODKEEPER_RECIPE_PATH: undefined,
    ...installs,
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
