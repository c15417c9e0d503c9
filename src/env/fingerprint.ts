/**
 * An env's fingerprint: `podkeeper-env.json`, written last, only after a successful build, so an env
 * without one is partial by definition. It is checked before every pod starts in the env, cheaply
 * (one small JSON read and a few stats, no Python run):
 *   - the hash matches the directory's name and the key the recipe asks for;
 *   - the interpreter resolves, to the same base binary (size, mtime) it was built on;
 *   - one file of every installed distribution (its "sentinel") is still there.
 * A deeper check, every file listed in every `*.dist-info/RECORD`, runs the first time a process uses
 * an env (see {@link verifyRecords}); a file deleted from the env is caught there.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ENV_FORMAT, type EnvKey } from './key.js';

const FINGERPRINT_FILE = 'podkeeper-env.json';
export const ENV_PYTHON = join('bin', 'python');

export interface Fingerprint {
  format: number;
  hash: string;
  key: EnvKey;
  /** The interpreter the env runs (`major.minor.micro`) and the stat of the binary it resolves to. */
  python: { version: string; size: number; mtimeMs: number };
  /** Relative to the env: the site-packages folder. */
  sitePackages: string;
  /** Relative to the env: one file per installed distribution. */
  sentinels: string[];
  /** What built it: `uv 0.13.9` or `pip`. */
  installer: string;
  builtAt: string;
  buildMs: number;
}

export type Verdict = { ok: true; fingerprint: Fingerprint } | { ok: false; reason: string };

/** The per-spawn check. Never throws: a problem is a verdict with its reason. */
export async function checkEnv(dir: string, hash: string): Promise<Verdict> {
  let fingerprint: Fingerprint;
  try {
    fingerprint = JSON.parse(await readFile(join(dir, FINGERPRINT_FILE), 'utf8')) as Fingerprint;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      ok: false,
      reason: missing ? 'no fingerprint (partial or foreign directory)' : 'unreadable fingerprint',
    };
  }
  if (fingerprint.format !== ENV_FORMAT || fingerprint.hash !== hash) {
    return { ok: false, reason: 'stale fingerprint (another format or hash)' };
  }
  const [python, ...sentinels] = await Promise.all([
    stat(join(dir, ENV_PYTHON)).catch(() => undefined),
    ...fingerprint.sentinels.map((path) => stat(join(dir, path)).catch(() => undefined)),
  ]);
  if (!python) return { ok: false, reason: 'its interpreter is missing or points at a removed Python' };
  if (python.size !== fingerprint.python.size || python.mtimeMs !== fingerprint.python.mtimeMs) {
    return { ok: false, reason: 'its base interpreter changed since the build' };
  }
  const lost = sentinels.indexOf(undefined);
  if (lost >= 0) return { ok: false, reason: `installed file missing: ${fingerprint.sentinels[lost]}` };
  return { ok: true, fingerprint };
}

/** Reads what a fresh build installed and writes the fingerprint (the build's last step). */
export async function writeFingerprint(
  dir: string,
  fields: Pick<Fingerprint, 'hash' | 'key' | 'installer' | 'buildMs'>,
): Promise<Fingerprint> {
  const sitePackages = await findSitePackages(dir);
  const records = await readRecords(dir, sitePackages);
  const python = await stat(join(dir, ENV_PYTHON));
  const fingerprint: Fingerprint = {
    format: ENV_FORMAT,
    ...fields,
    python: { version: await venvVersion(dir), size: python.size, mtimeMs: python.mtimeMs },
    sitePackages,
    sentinels: records.flatMap((record) => (record.sentinel ? [record.sentinel] : [])),
    builtAt: new Date().toISOString(),
  };
  await writeFile(join(dir, FINGERPRINT_FILE), `${JSON.stringify(fingerprint, null, 2)}\n`);
  return fingerprint;
}

/**
 * Every file every distribution's RECORD lists is present: the first missing one, or undefined.
 * One readdir per folder rather than one stat per file.
 */
export async function verifyRecords(
  dir: string,
  fingerprint: Pick<Fingerprint, 'sitePackages'>,
): Promise<string | undefined> {
  const records = await readRecords(dir, fingerprint.sitePackages);
  const byFolder = new Map<string, string[]>();
  for (const file of records.flatMap((record) => record.files)) {
    const folder = dirname(file);
    const names = byFolder.get(folder);
    if (names) names.push(basename(file));
    else byFolder.set(folder, [basename(file)]);
  }
  const folders = [...byFolder.entries()];
  for (let i = 0; i < folders.length; i += 64) {
    const missing = await Promise.all(
      folders.slice(i, i + 64).map(async ([folder, names]) => {
        const present = new Set(await readdir(join(dir, folder)).catch(() => [] as string[]));
        const lost = names.find((name) => !present.has(name));
        return lost === undefined ? undefined : join(folder, lost);
      }),
    );
    const first = missing.find((file) => file !== undefined);
    if (first !== undefined) return first;
  }
  return undefined;
}

interface DistRecord {
  /** Files of the distribution, relative to the env (compiled bytecode excluded). */
  files: string[];
  /** A file that stands for the distribution in the per-spawn check. */
  sentinel: string | undefined;
}

async function readRecords(dir: string, sitePackages: string): Promise<DistRecord[]> {
  const entries = await readdir(join(dir, sitePackages)).catch(() => [] as string[]);
  const infos = entries.filter((entry) => entry.endsWith('.dist-info')).sort();
  return Promise.all(
    infos.map(async (info) => {
      const text = await readFile(join(dir, sitePackages, info, 'RECORD'), 'utf8').catch(() => '');
      const files = text
        .split('\n')
        .map(recordPath)
        .filter((path): path is string => path !== undefined && !/(^|\/)__pycache__\/|\.pyc$/.test(path))
        .map((path) => join(sitePackages, path));
      const own = files.filter(
        (file) => file.startsWith(`${sitePackages}/`) && !file.includes('.dist-info/'),
      );
      const sentinel = own.find((file) => file.endsWith('__init__.py')) ?? own[0] ?? files[0];
      return { files, sentinel };
    }),
  );
}

/** The path column of one RECORD line (CSV; a path holding a comma is quoted). */
function recordPath(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  if (line.startsWith('"')) {
    const end = line.indexOf('",');
    return end > 0 ? line.slice(1, end).replace(/""/g, '"') : undefined;
  }
  const comma = line.indexOf(',');
  return comma > 0 ? line.slice(0, comma) : line;
}

async function findSitePackages(dir: string): Promise<string> {
  const lib = await readdir(join(dir, 'lib')).catch(() => [] as string[]);
  const python = lib.find((entry) => entry.startsWith('python'));
  if (!python) throw new Error(`no lib/python*/ folder in ${dir}`);
  return join('lib', python, 'site-packages');
}

/** The version recorded in the venv's pyvenv.cfg (`version_info` from uv, `version` from venv). */
async function venvVersion(dir: string): Promise<string> {
  const text = await readFile(join(dir, 'pyvenv.cfg'), 'utf8');
  const match = /^\s*version(?:_info)?\s*=\s*(\d+\.\d+\.\d+)/m.exec(text);
  return match?.[1] ?? 'unknown';
}
