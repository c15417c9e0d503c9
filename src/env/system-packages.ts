/**
 * A recipe's `systemDependencies` (apt package names such as `ffmpeg`). One is present when a
 * command of that name is on PATH or dpkg says the package is installed. Missing ones are installed
 * with apt only when podkeeper runs as root in the explicitly chosen system mode (its Docker image); anywhere else the
 * error lists them with the command to install them: podkeeper never touches a user's system.
 */
import { succeeded } from '../process/command.js';
import { envBuildFailed, envProblem } from './failure.js';
import { findOnPath, type Run } from './installer.js';
import type { EnvProgress } from './progress.js';

export interface SystemPackages {
  recipe: string;
  packages: readonly string[];
  run: Run;
  /** PATH of the daemon. */
  path: string;
  /** True when apt may be used: root, in system mode. */
  mayInstall: boolean;
  progress: (progress: EnvProgress) => void;
}

async function missingSystemPackages(packages: readonly string[], path: string, run: Run): Promise<string[]> {
  const found = await Promise.all(packages.map((name) => findOnPath(name, path)));
  const unknown = packages.filter((_, i) => found[i] === undefined);
  if (unknown.length === 0) return [];
  const dpkg = await findOnPath('dpkg-query', path);
  if (!dpkg) return unknown;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format placeholders.
  const result = await run(dpkg, ['-W', '-f', '${Package} ${Status}\\n', '--', ...unknown]);
  const installed = new Set(
    result.stdout
      .split('\n')
      .filter((line) => line.endsWith(' install ok installed'))
      .map((line) => line.split(' ')[0]?.split(':')[0]),
  );
  return unknown.filter((name) => !installed.has(name));
}

export async function ensureSystemPackages(spec: SystemPackages): Promise<void> {
  if (spec.packages.length === 0) return;
  const missing = await missingSystemPackages(spec.packages, spec.path, spec.run);
  if (missing.length === 0) return;
  const aptGet = await findOnPath('apt-get', spec.path);
  const step = 'installing system packages';
  if (!spec.mayInstall || !aptGet) {
    throw envProblem(
      { recipe: spec.recipe, step },
      `it needs system packages that are not installed: ${missing.join(', ')}. Install them, e.g. ` +
        `\`sudo apt-get install -y ${missing.join(' ')}\` (or your system's package manager), and call again. ` +
        `podkeeper installs system packages itself only when it runs as root in system mode (its Docker image)${aptGet ? '' : ' with apt-get'}.`,
    );
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const onLine = (line: string) => spec.progress({ phase: 'system-packages', message: line.trim() });
  spec.progress({ phase: 'system-packages', message: `apt-get install ${missing.join(' ')}` });
  const update = await spec.run(aptGet, ['update'], { env, onLine });
  if (!succeeded(update)) throw envBuildFailed({ recipe: spec.recipe, requirements: missing, step }, update);
  const install = await spec.run(aptGet, ['install', '-y', '--no-install-recommends', '--', ...missing], {
    env,
    onLine,
  });
  if (!succeeded(install))
    throw envBuildFailed({ recipe: spec.recipe, requirements: missing, step }, install);
}
