/**
 * Packs the catalog recipes (`recipes/catalog/<name>/`) into tarballs and describes them in a
 * recipe index (`recipes/index.json`), ready to publish together with a release. The tarballs are
 * reproducible (sorted members, fixed mode and mtime, no owner), so the index's sha256s only change
 * when a recipe does, and a test can tell when the committed index is stale.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { BUILTIN_RECIPES_DIR } from '../paths.js';
import { readRecipe } from '../recipes/catalog.js';
import type { IndexEntry, RecipeIndex } from './recipe-index.js';

export const CATALOG_DIR = join(BUILTIN_RECIPES_DIR, 'catalog');
export const INDEX_FILE = join(BUILTIN_RECIPES_DIR, 'index.json');

export interface PackedRecipe {
  entry: IndexEntry;
  file: string;
  bytes: Buffer;
}

const SKIPPED = new Set(['__pycache__', '.git', '.venv', '.ruff_cache', '.mypy_cache']);

/** One recipe folder as `<name>/…` in a reproducible .tar.gz. */
export async function packRecipe(dir: string, baseUrl = ''): Promise<PackedRecipe> {
  const { recipe } = await readRecipe(dir);
  const files = await listFiles(dir);
  const blocks: Buffer[] = [];
  for (const file of files) {
    const body = await readFile(join(dir, file));
    const mode = (await stat(join(dir, file))).mode & 0o111 ? 0o755 : 0o644;
    const header = new Header({
      path: `${recipe.name}/${file}`,
      type: 'File',
      size: body.length,
      mode,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const bytes = gzipSync(Buffer.concat(blocks), { level: 9 });
  const file = `${recipe.name}-${recipe.version}.tar.gz`;
  return {
    file,
    bytes,
    entry: {
      name: recipe.name,
      version: recipe.version,
      capability: recipe.capability,
      ...(recipe.description === undefined ? {} : { description: recipe.description }),
      url: `${baseUrl}${file}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
    },
  };
}

/** Every catalog recipe, packed, and the index listing them (by name). */
export async function packCatalog(
  catalogDir = CATALOG_DIR,
  baseUrl = '',
): Promise<{ packed: PackedRecipe[]; index: RecipeIndex }> {
  const names = (await readdir(catalogDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  const packed = await Promise.all(names.map((name) => packRecipe(join(catalogDir, name), baseUrl)));
  return { packed, index: { version: 1, recipes: packed.map((p) => p.entry) } };
}

export function serializeIndex(index: RecipeIndex): string {
  return `${JSON.stringify(index, null, 2)}\n`;
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name) || entry.name.endsWith('.pyc')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await listFiles(root, path)));
    else if (entry.isFile()) found.push(relative(root, path));
  }
  return found.sort();
}
