/**
 * Where an install comes from, brought into the install's staging folder as a recipe folder:
 *
 *   http(s)://…tar.gz ─ download (sha256 required unless insecure) ─ verify ─┐
 *   name[@version] ─ index ─ url + sha256 ─ (download) ───────────── verify ─┤
 *   /path/x.tar.gz ─────────────────────────────────── verify (if given) ─┴▶ safe unpack ─┐
 *   /path/dir ─────────────────────────────────────────────────── safe copy ──────────────┴▶ staged recipe folder
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodkeeperError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { packFromCatalogFolder } from './catalog-folder.js';
import { type DownloadOptions, download, formatBytes } from './download.js';
import { sha256File, verifySha256 } from './integrity.js';
import { entryUrl, findEntry, INDEX_NAME, loadIndex } from './recipe-index.js';
import { copyRecipeDir, type UnpackLimits, unpackArchive } from './unpack.js';

export interface SourceOptions {
  /** The install's own staging folder. */
  workDir: string;
  indexUrl: string;
  sha256?: string;
  insecure?: boolean;
  /** Bytes a downloaded or local archive may have. */
  maxArchiveBytes: number;
  unpacked: UnpackLimits;
  retry: Pick<DownloadOptions, 'attempts' | 'backoffMs' | 'stallMs'>;
  signal?: AbortSignal;
  progress: (step: 'fetch' | 'verify' | 'unpack', fraction: number | undefined, message: string) => void;
}

export interface FetchedRecipe {
  /** The staged recipe folder (it holds recipe.json, not yet validated). */
  dir: string;
  /** The source as it may be shown and recorded (no credentials). */
  origin: string;
  /** The archive's sha256, when the source was an archive. */
  sha256?: string;
  /** The name the index listed, to check against recipe.json. */
  indexName?: string;
}

type Classified =
  | { kind: 'url'; url: string }
  | { kind: 'dir'; path: string }
  | { kind: 'archive'; path: string }
  | { kind: 'index'; name: string };

export async function fetchRecipe(source: string, options: SourceOptions): Promise<FetchedRecipe> {
  const classified = await classify(source);
  switch (classified.kind) {
    case 'dir': {
      if (options.sha256) {
        throw new PodkeeperError(
          'INSTALL_FAILED',
          `--sha256 applies to archives, and ${classified.path} is a directory: pack it, or leave --sha256 out.`,
          { details: { source } },
        );
      }
      options.progress('fetch', undefined, `copying ${classified.path}`);
      const dir = join(options.workDir, 'recipe');
      await copyRecipeDir(classified.path, dir, options.unpacked);
      options.progress('fetch', 1, `copied ${classified.path}`);
      return { dir, origin: classified.path };
    }
    case 'archive':
      return fromArchive(classified.path, classified.path, options.sha256, options);
    case 'url': {
      if (!options.sha256 && !options.insecure) {
        throw new PodkeeperError(
          'INSTALL_FAILED',
          `A remote recipe is code you are about to run: give its sha256 (podkeeper install ${redactUrl(classified.url)} ` +
            '--sha256 HEX), or pass --insecure to install it unchecked.',
          { details: { source: redactUrl(classified.url) } },
        );
      }
      return fromUrl(classified.url, options.sha256, options);
    }
    case 'index': {
      options.progress(
        'fetch',
        undefined,
        `looking up ${classified.name} in the recipe index ${shown(options.indexUrl)}`,
      );
      const index = await loadIndex(options.indexUrl, {
        workDir: options.workDir,
        signal: options.signal,
        attempts: options.retry.attempts,
        backoffMs: options.retry.backoffMs,
      });
      const entry = findEntry(index, classified.name, shown(options.indexUrl));
      const url = entryUrl(entry, options.indexUrl);
      const expected = options.sha256 ?? entry.sha256;
      const remote = /^https?:\/\//.test(url);
      const path = url.startsWith('file:') ? fileURLToPath(url) : url;
      const indexPath = options.indexUrl.startsWith('file:')
        ? fileURLToPath(options.indexUrl)
        : options.indexUrl;
      const packed =
        remote || /^https?:\/\//.test(indexPath)
          ? undefined
          : await packFromCatalogFolder(path, entry, indexPath, options.workDir, (message) =>
              options.progress('fetch', undefined, message),
            );
      const fetched = remote
        ? await fromUrl(url, expected, options)
        : await fromArchive(packed ?? path, path, expected, options);
      return {
        ...fetched,
        origin: `${entry.name}@${entry.version} (${fetched.origin})`,
        indexName: entry.name,
      };
    }
  }
}

async function classify(source: string): Promise<Classified> {
  if (/^https?:\/\//i.test(source)) return { kind: 'url', url: source };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file:')) {
    throw new PodkeeperError(
      'INSTALL_FAILED',
      `Cannot install from ${redactUrl(source)}: only http(s) URLs, .tar.gz files, directories and index names are sources.`,
      { details: { source: redactUrl(source) } },
    );
  }
  const path = resolve(source.startsWith('file:') ? fileURLToPath(source) : source);
  const stats = await stat(path).catch(() => undefined);
  if (stats?.isDirectory()) return { kind: 'dir', path };
  if (stats?.isFile()) return { kind: 'archive', path };
  if (INDEX_NAME.test(source)) return { kind: 'index', name: source };
  throw new PodkeeperError(
    'INSTALL_FAILED',
    `Cannot install "${source}": no such directory or file (${path}), and it is not a recipe name ` +
      '(name or name@version) to look up in the index.',
    { details: { source } },
  );
}

async function fromUrl(
  url: string,
  sha256: string | undefined,
  options: SourceOptions,
): Promise<FetchedRecipe> {
  const file = join(options.workDir, 'archive.tar.gz');
  const origin = redactUrl(url);
  options.progress('fetch', 0, `downloading ${origin}`);
  let last = 0;
  const result = await download(url, file, {
    ...options.retry,
    maxBytes: options.maxArchiveBytes,
    tooLargeCode: 'UNSAFE_ARCHIVE',
    signal: options.signal,
    onProgress: (received, total) => {
      const now = Date.now();
      if (now - last < 200 && received !== total) return;
      last = now;
      options.progress(
        'fetch',
        total ? received / total : undefined,
        `${formatBytes(received)}${total ? ` of ${formatBytes(total)}` : ''}`,
      );
    },
  });
  const note =
    result.attempts > 1 ? ` in ${result.attempts} attempts${result.resumed ? ', resumed' : ''}` : '';
  options.progress('fetch', 1, `downloaded ${formatBytes(result.bytes)}${note}`);
  return fromArchive(file, origin, sha256, options);
}

async function fromArchive(
  file: string,
  origin: string,
  sha256: string | undefined,
  options: SourceOptions,
): Promise<FetchedRecipe> {
  const size = (await stat(file).catch(() => undefined))?.size;
  if (size === undefined) {
    throw new PodkeeperError('INSTALL_FAILED', `Cannot read the archive ${origin}.`, {
      details: { source: origin },
    });
  }
  if (size > options.maxArchiveBytes) {
    throw new PodkeeperError(
      'UNSAFE_ARCHIVE',
      `Refused to unpack ${origin}: it is ${formatBytes(size)}, over the ${formatBytes(options.maxArchiveBytes)} bound.`,
      { details: { archive: origin, bytes: size } },
    );
  }
  options.progress(
    'verify',
    undefined,
    sha256 ? 'checking sha256' : 'no sha256 given: computing it for the record',
  );
  const digest = sha256 ? await verifySha256(file, sha256, `The archive ${origin}`) : await sha256File(file);
  options.progress('verify', 1, `sha256 ${digest}`);
  options.progress('unpack', undefined, 'unpacking');
  const unpacked = join(options.workDir, 'unpacked');
  await unpackArchive(file, unpacked, options.unpacked);
  const dir = await recipeRoot(unpacked, origin);
  options.progress('unpack', 1, 'unpacked');
  return { dir, origin, sha256: digest };
}

/** recipe.json at the top of the archive, or in its one top-level folder. */
async function recipeRoot(unpacked: string, origin: string): Promise<string> {
  const entries = await readdir(unpacked, { withFileTypes: true });
  if (entries.some((entry) => entry.name === 'recipe.json')) return unpacked;
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only?.isDirectory()) {
    const inner = join(unpacked, only.name);
    if ((await readdir(inner)).includes('recipe.json')) return inner;
  }
  throw new PodkeeperError(
    'INVALID_RECIPE',
    `${origin} holds no recipe.json (neither at its top nor in a single top-level folder).`,
    { details: { source: origin } },
  );
}

function shown(location: string): string {
  return /^https?:/.test(location) ? redactUrl(location) : location;
}
