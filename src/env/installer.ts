/**
 * Finding the installer (docs/architecture.md#environments): the `uv` option or `PODKEEPER_UV`,
 * then `uv` on PATH, then a uv podkeeper installed earlier into `$PODKEEPER_HOME/tools`. When
 * there is none, podkeeper installs one there with the base interpreter's `pip install --target`;
 * when that is impossible too (no pip, no network), envs are built with `python -m venv` + pip.
 * `status` says which was used.
 */
import { constants } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { PodkeeperError } from '../errors.js';
import { type CommandResult, describeFailure, succeeded } from '../process/command.js';

export type Installer =
  | {
      kind: 'uv';
      path: string;
      version: string;
      /** Where it was found: the option/`PODKEEPER_UV`, PATH, the home's tools, or installed just now. */
      source: 'option' | 'PATH' | 'home' | 'installed';
    }
  | { kind: 'pip'; source: 'fallback'; reason: string };

export type Run = (
  command: string,
  args: string[],
  options?: { onLine?: (line: string) => void; env?: Record<string, string | undefined> },
) => Promise<CommandResult>;

export interface DiscoverOptions {
  /** The `uv` option, else `PODKEEPER_UV`. */
  explicit: string | undefined;
  /** PATH to search. */
  path: string;
  home: string;
  /** The base interpreter, whose pip installs uv when it is missing. */
  python: string;
  run: Run;
  /** Install uv into the home when it is found nowhere (false: only look). */
  install: boolean;
}

export async function discoverInstaller(options: DiscoverOptions): Promise<Installer> {
  if (options.explicit) {
    const version = await uvVersion(options.run, options.explicit);
    if (!version.ok) {
      throw new PodkeeperError(
        'INVALID_OPTION',
        `uv: "${options.explicit}" (the \`uv\` option or PODKEEPER_UV) does not run: ${version.error}`,
        { details: { field: 'uv', received: options.explicit } },
      );
    }
    return { kind: 'uv', path: options.explicit, version: version.version, source: 'option' };
  }
  const onPath = await findOnPath('uv', options.path);
  if (onPath) {
    const real = await unshim(options.run, onPath, options.path);
    const version = await uvVersion(options.run, real);
    if (version.ok) return { kind: 'uv', path: real, version: version.version, source: 'PATH' };
  }
  const tools = join(options.home, 'tools');
  const installed = join(tools, 'uv', 'bin', 'uv');
  const existing = await uvVersion(options.run, installed);
  if (existing.ok) return { kind: 'uv', path: installed, version: existing.version, source: 'home' };
  if (!options.install) {
    return {
      kind: 'pip',
      source: 'fallback',
      reason: `uv is not on PATH; the first env build installs it into ${tools} (or falls back to pip)`,
    };
  }
  const attempt = await installUv(options.run, options.python, tools);
  if (attempt.ok) {
    const version = await uvVersion(options.run, installed);
    if (version.ok) return { kind: 'uv', path: installed, version: version.version, source: 'installed' };
  }
  return {
    kind: 'pip',
    source: 'fallback',
    reason: `uv is not on PATH and could not be installed with "${options.python} -m pip" (${attempt.ok ? 'it did not run' : attempt.error})`,
  };
}

async function uvVersion(
  run: Run,
  path: string,
): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  const result = await run(path, ['--version']);
  if (!succeeded(result)) return { ok: false, error: describeFailure(result) };
  const match = /uv (\d+\.\d+\.\d+\S*)/.exec(result.stdout);
  return match?.[1]
    ? { ok: true, version: match[1] }
    : { ok: false, error: `unexpected output "${result.stdout}"` };
}

/** Installs uv into `<tools>/uv` (pip --target into a temp dir, then renamed into place). */
async function installUv(
  run: Run,
  python: string,
  tools: string,
): Promise<{ ok: true } | { ok: false; error: string }> {
  await mkdir(tools, { recursive: true });
  const temp = join(tools, `.uv-${process.pid}-${Date.now()}`);
  try {
    const result = await run(python, [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      '--target',
      temp,
      'uv',
    ]);
    if (!succeeded(result))
      return { ok: false, error: result.outputTail.slice(-3).join(' ') || describeFailure(result) };
    await rm(join(tools, 'uv'), { recursive: true, force: true });
    await rename(temp, join(tools, 'uv'));
    return { ok: true };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

export async function findOnPath(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * A pyenv shim is a shell script that re-resolves the command on every call (~50 ms, measured on
 * each uv run); the binary behind it is asked for once.
 */
async function unshim(run: Run, found: string, path: string): Promise<string> {
  if (!/\/\.?pyenv\/shims\/[^/]+$/.test(found)) return found;
  const pyenv = await findOnPath('pyenv', path);
  if (!pyenv) return found;
  const result = await run(pyenv, ['which', 'uv']);
  const real = result.stdout.trim();
  return succeeded(result) && real.startsWith('/') ? real : found;
}
