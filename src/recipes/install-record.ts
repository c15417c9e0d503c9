/**
 * What an install remembers about an installed recipe, in `.podkeeper-install.json` inside its
 * folder: where it came from, the archive's digest, and the prefetched model's local path (which the
 * pod gets as `ctx.model`). Written before the smoke start, so the smoke start's pod sees what
 * real ones will.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const INSTALL_RECORD = '.podkeeper-install.json';

const installRecordSchema = z.object({
  source: z.string(),
  /** sha256 of the archive, when the source was one. */
  sha256: z.string().optional(),
  installedAt: z.string(),
  model: z
    .object({
      repo: z.string(),
      /** The revision asked for, and the commit it resolved to. */
      revision: z.string(),
      commit: z.string(),
      path: z.string(),
    })
    .optional(),
  files: z.array(z.object({ path: z.string(), sha256: z.string() })).default([]),
});

export type InstallRecord = z.infer<typeof installRecordSchema>;

/** The record of an installed recipe folder; undefined when absent or unreadable. */
export async function readInstallRecord(dir: string): Promise<InstallRecord | undefined> {
  try {
    const parsed = installRecordSchema.safeParse(
      JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeInstallRecord(dir: string, record: InstallRecord): Promise<void> {
  await writeFile(join(dir, INSTALL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
}
