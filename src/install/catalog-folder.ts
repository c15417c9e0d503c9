/**
 * A catalog recipe straight from its folder. The bundled index lists `<name>-<version>.tar.gz`
 * beside itself, but those tarballs are build output (`npm run pack-recipes`): a fresh clone, or an
 * image built from one, has `recipes/catalog/<name>/` and no tarball. When an entry's local archive
 * is absent and the index has a `catalog/<name>` folder beside it, the folder is packed here, the
 * same reproducible way pack-recipes packs it, and must hash to the index's sha256: an index that
 * is stale against its folder is refused, never trusted.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PodkeeperError } from '../errors.js';
import { packRecipe } from './pack.js';
import type { IndexEntry } from './recipe-index.js';

/** The packed archive's path in `workDir`, or undefined when `archive` exists or no folder is there. */
export async function packFromCatalogFolder(
  archive: string,
  entry: IndexEntry,
  indexPath: string,
  workDir: string,
  progress: (message: string) => void,
): Promise<string | undefined> {
  const folder = join(dirname(indexPath), 'catalog', entry.name);
  if (existsSync(archive) || !existsSync(join(folder, 'recipe.json'))) return undefined;
  progress(`packing ${folder} (no ${archive})`);
  const packed = await packRecipe(folder);
  if (packed.entry.sha256 !== entry.sha256.toLowerCase()) {
    throw new PodkeeperError(
      'INTEGRITY_ERROR',
      `The catalog folder ${folder} does not match its entry in ${indexPath}: expected sha256 ` +
        `${entry.sha256.toLowerCase()}, packed ${packed.entry.sha256}. The folder changed since the index ` +
        'was written: run `npm run pack-recipes` in the podkeeper checkout to refresh the index.',
      { details: { folder, expected: entry.sha256.toLowerCase(), actual: packed.entry.sha256 } },
    );
  }
  const file = join(workDir, packed.file);
  await writeFile(file, packed.bytes);
  return file;
}
