/**
 * The recipe index: a JSON catalog (a file in a release or a Git repository) listing name, version,
 * capability, description, url and sha256 of each installable recipe. `name` picks the highest
 * version listed, `name@version` that version. A relative `url` is relative to the index itself, so
 * an index and its tarballs can be published together anywhere.
 */
import { readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { PodkeeperError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { download } from './download.js';

const indexEntrySchema = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1),
  capability: z.string().min(1),
  description: z.string().optional(),
  url: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'must be a 64-digit hex sha256'),
  /** Bytes of the archive, to show before a download. */
  size: z.number().int().nonnegative().optional(),
});

export const recipeIndexSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  recipes: z.array(indexEntrySchema),
});

export type IndexEntry = z.infer<typeof indexEntrySchema>;
export type RecipeIndex = z.infer<typeof recipeIndexSchema>;

/** `name` or `name@version`, as an install source. */
export const INDEX_NAME = /^([a-z0-9][a-z0-9._-]{0,63})(?:@([A-Za-z0-9][A-Za-z0-9.+_-]*))?$/;

/** Reads the index at `location` (an http(s) or file URL, or a path); a download goes through `workDir`. */
export async function loadIndex(
  location: string,
  options: { workDir: string; signal?: AbortSignal; attempts?: number; backoffMs?: number },
): Promise<RecipeIndex> {
  const shown = /^https?:/.test(location) ? redactUrl(location) : location;
  let text: string;
  try {
    if (/^https?:\/\//.test(location)) {
      const file = join(options.workDir, 'index.json');
      try {
        await download(location, file, {
          maxBytes: 8 * 1024 * 1024,
          signal: options.signal,
          attempts: options.attempts,
          backoffMs: options.backoffMs,
        });
        text = await readFile(file, 'utf8');
      } finally {
        await rm(file, { force: true });
      }
    } else {
      text = await readFile(location.startsWith('file:') ? fileURLToPath(location) : location, 'utf8');
    }
  } catch (error) {
    if (error instanceof PodkeeperError && error.code === 'CANCELLED') throw error;
    throw new PodkeeperError(
      'INSTALL_FAILED',
      `Cannot read the recipe index at ${shown}: ${(error as Error).message} ` +
        '(set PODKEEPER_INDEX_URL to the index to use).',
      { cause: error, details: { index: shown } },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new PodkeeperError('INSTALL_FAILED', `The recipe index at ${shown} is not JSON.`, {
      cause,
      details: { index: shown },
    });
  }
  const parsed = recipeIndexSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new PodkeeperError(
      'INSTALL_FAILED',
      `The recipe index at ${shown} is invalid: ${issues.join('; ')}.`,
      {
        details: { index: shown },
      },
    );
  }
  return parsed.data;
}

/** The entry for `name` or `name@version` (the highest version when none is given). */
export function findEntry(index: RecipeIndex, source: string, location: string): IndexEntry {
  const match = INDEX_NAME.exec(source);
  const name = match?.[1] ?? source;
  const version = match?.[2];
  const listed = index.recipes.filter((entry) => entry.name === name);
  const chosen =
    version === undefined
      ? listed.sort((a, b) => compareVersions(b.version, a.version))[0]
      : listed.find((entry) => entry.version === version);
  if (chosen) return chosen;
  const known = listed.length
    ? `it lists ${name} at ${listed.map((entry) => entry.version).join(', ')}`
    : `it lists ${index.recipes.map((entry) => entry.name).join(', ') || 'nothing'}`;
  throw new PodkeeperError(
    'UNKNOWN_TARGET',
    `No recipe "${source}" in the recipe index at ${location}: ${known}.`,
    { details: { source, index: location } },
  );
}

/** An entry's url, resolved against the index location when relative. */
export function entryUrl(entry: IndexEntry, location: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(entry.url)) return entry.url;
  if (/^https?:\/\//.test(location)) return new URL(entry.url, location).href;
  const base = location.startsWith('file:') ? location : pathToFileURL(resolve(location)).href;
  const url = new URL(entry.url, base);
  return isAbsolute(entry.url) ? entry.url : url.href;
}

/** Dotted versions, numerically where both parts are numbers (1.10.0 > 1.9.2). */
function compareVersions(a: string, b: string): number {
  const left = a.split(/[.+-]/);
  const right = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i] ?? '';
    const y = right[i] ?? '';
    const nx = Number(x);
    const ny = Number(y);
    const order =
      Number.isInteger(nx) && Number.isInteger(ny) && x !== '' && y !== '' ? nx - ny : x.localeCompare(y);
    if (order !== 0) return order;
  }
  return 0;
}
