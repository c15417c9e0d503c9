/** The installer's options: limits, retries and timeouts, checked once. */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { PodkeeperError } from '../errors.js';
import { BUILTIN_RECIPES_DIR } from '../paths.js';
import type { InstallHost } from './host.js';

const optionsSchema = z.object({
  /** The recipe index: an http(s) URL, a file URL or a path. @default $PODKEEPER_INDEX_URL, else the bundled recipes/index.json */
  indexUrl: z.string().min(1).optional(),
  /** MB a recipe archive (downloaded or local) may have. @default 256 */
  maxArchiveMB: z.number().positive().default(256),
  /** MB a recipe may unpack to. @default 1024 */
  maxUnpackedMB: z.number().positive().default(1024),
  /** Members a recipe archive may have. @default 20 000 */
  maxEntries: z.number().int().positive().default(20_000),
  /** MB one of a recipe's `files` may have. @default 51 200 */
  maxFileMB: z.number().positive().default(51_200),
  /** Attempts per download. @default 4 */
  attempts: z.number().int().min(1).default(4),
  /** Milliseconds before the first retry (doubled for each next). @default 500 */
  backoffMs: z.number().min(0).default(500),
  /** Seconds without a byte before a download attempt is abandoned. @default 30 */
  stallTimeout: z.number().positive().default(30),
  /** Seconds a model download may take. @default 3600 */
  modelTimeout: z.number().positive().default(3600),
  /** Seconds to wait for another process's install of the same recipe. @default 3600 */
  lockTimeout: z.number().positive().default(3600),
});

export type RecipeInstallerOptions = z.input<typeof optionsSchema> & {
  host: InstallHost;
  logger?: Logger;
};

/** The options with their defaults and the index resolved. */
export type InstallSettings = z.infer<typeof optionsSchema> & { indexUrl: string };

/** Checks the options (INVALID_OPTION names the first bad field) and fills in the defaults. */
export function parseInstallSettings(rest: Omit<RecipeInstallerOptions, 'host' | 'logger'>): InstallSettings {
  const parsed = optionsSchema.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '?';
    throw new PodkeeperError(
      'INVALID_OPTION',
      `Expected installer option \`${field}\` to be valid (${issue?.message}), got ${JSON.stringify((rest as Record<string, unknown>)[field])}.`,
      { details: { field } },
    );
  }
  return {
    ...parsed.data,
    indexUrl: parsed.data.indexUrl ?? defaultIndexLocation(),
  };
}

/** The recipe index installs read: $PODKEEPER_INDEX_URL, else the bundled recipes/index.json. */
export function defaultIndexLocation(): string {
  return process.env['PODKEEPER_INDEX_URL'] || join(BUILTIN_RECIPES_DIR, 'index.json');
}

/** The retry options of every download. */
export function retryOf(options: InstallSettings) {
  return {
    attempts: options.attempts,
    backoffMs: options.backoffMs,
    stallMs: options.stallTimeout * 1000,
  };
}
