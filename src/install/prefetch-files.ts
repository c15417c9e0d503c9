/**
 * A recipe's `files` (URL + sha256 each) downloaded into its folder at install time. Each verified
 * file is kept in a content-addressed cache (`$PODKEEPER_HOME/cache/files/<sha256>`), so a reinstall
 * or an upgrade that keeps a file downloads nothing; the recipe gets a hard link (a copy across file
 * systems).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { PodkeeperError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { type DownloadOptions, download } from './download.js';
import { verifySha256 } from './integrity.js';

export interface RecipeFile {
  path: string;
  url: string;
  sha256: string;
}

export interface FilePrefetchOptions
  extends Pick<DownloadOptions, 'attempts' | 'backoffMs' | 'stallMs' | 'signal'> {
  cacheDir: string;
  maxBytes: number;
  onProgress?: (fraction: number | undefined, message: string) => void;
}

/** Puts every file in place inside `recipeDir`; answers which ones came from the cache. */
export async function prefetchFiles(
  recipeDir: string,
  files: readonly RecipeFile[],
  options: FilePrefetchOptions,
): Promise<{ path: string; sha256: string; cached: boolean }[]> {
  const root = await realpath(recipeDir);
  const done: { path: string; sha256: string; cached: boolean }[] = [];
  for (const [index, file] of files.entries()) {
    const digest = file.sha256.toLowerCase();
    const cached = join(options.cacheDir, digest);
    const hit = await stat(cached).then(
      (stats) => stats.isFile(),
      () => false,
    );
    const label = `file ${index + 1}/${files.length} ${file.path}`;
    if (hit) {
      options.onProgress?.((index + 1) / files.length, `${label}: cached`);
    } else {
      await mkdir(options.cacheDir, { recursive: true });
      const partial = `${cached}.partial-${randomBytes(4).toString('hex')}`;
      try {
        await download(file.url, partial, {
          maxBytes: options.maxBytes,
          attempts: options.attempts,
          backoffMs: options.backoffMs,
          stallMs: options.stallMs,
          signal: options.signal,
          onProgress: (received, total) =>
            options.onProgress?.(
              total ? (index + received / total) / files.length : undefined,
              `${label}: ${(received / 1024 / 1024).toFixed(1)} MB`,
            ),
        });
        await verifySha256(partial, digest, `${file.path} (${redactUrl(file.url)})`);
        await rename(partial, cached);
      } finally {
        await rm(partial, { force: true });
      }
    }
    const target = join(root, file.path);
    await mkdir(dirname(target), { recursive: true });
    // The parent may be a link shipped in the recipe: it must still lead inside the recipe folder.
    const parent = await realpath(dirname(target));
    if (parent !== root && !parent.startsWith(root + sep)) {
      throw new PodkeeperError(
        'UNSAFE_ARCHIVE',
        `Refused to place "${file.path}": its folder leads outside the recipe folder.`,
        { details: { member: file.path } },
      );
    }
    await rm(target, { force: true });
    await link(cached, target).catch(() => copyFile(cached, target));
    done.push({ path: file.path, sha256: digest, cached: hit });
  }
  return done;
}
