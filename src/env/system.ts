/**
 * System mode (DESIGN §4): pods run on the system interpreter, as in a Docker image that already
 * carries PyTorch. Only what is missing is installed, so the image's own packages are reused, never
 * re-downloaded:
 *   1. a probe, `uv pip install --dry-run --offline` (~20 ms, no network, uv's own requirement
 *      matching, markers and extras included): "Would make no changes" means nothing to do;
 *   2. otherwise `uv pip install --system`, which installs the missing requirements and leaves the
 *      satisfied ones untouched.
 * uv is told `--python-preference only-system`: it must never swap in a Python of its own here.
 * Without uv, pip does the same (`pip install` skips satisfied requirements).
 */
import { succeeded } from './command.js';
import { envBuildFailed } from './failure.js';
import type { Installer, Run } from './installer.js';
import { type EnvProgress, parseInstallerLine } from './progress.js';

export interface SystemInstall {
  recipe: string;
  installer: Installer;
  run: Run;
  /** The system interpreter (absolute path). */
  python: string;
  requirements: string[];
  wheelhouse: string | undefined;
  progress: (progress: EnvProgress) => void;
}

/** Installs what is missing; resolves true when something was installed, false when all was there. */
export async function ensureSystemRequirements(install: SystemInstall): Promise<boolean> {
  if (install.requirements.length === 0) return false;
  const failure = (step: string) => ({ recipe: install.recipe, requirements: install.requirements, step });
  const onLine = (line: string) => {
    const progress = parseInstallerLine(line);
    if (progress) install.progress(progress);
  };
  const links = install.wheelhouse ? ['--find-links', install.wheelhouse] : [];

  if (install.installer.kind === 'pip') {
    install.progress({ phase: 'resolving', message: `pip: ${install.requirements.join(', ')}` });
    const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...links];
    const result = await install.run(install.python, [...args, '--', ...install.requirements], { onLine });
    if (!succeeded(result))
      throw envBuildFailed(failure('installing into the system Python with pip'), result);
    return result.outputTail.some((line) => line.startsWith('Successfully installed'));
  }

  const uv = install.installer.path;
  const target = ['--system', '--python-preference', 'only-system', '--python', install.python, ...links];
  install.progress({ phase: 'checking', message: 'checking which requirements the system Python lacks' });
  const probe = await install.run(uv, [
    'pip',
    'install',
    '--dry-run',
    '--offline',
    ...target,
    '--',
    ...install.requirements,
  ]);
  if (succeeded(probe) && probe.outputTail.some((line) => line.startsWith('Would make no changes')))
    return false;

  install.progress({
    phase: 'resolving',
    message: `installing what is missing of ${install.requirements.join(', ')}`,
  });
  const result = await install.run(uv, ['pip', 'install', ...target, '--', ...install.requirements], {
    onLine,
  });
  if (!succeeded(result)) throw envBuildFailed(failure('installing into the system Python'), result);
  return true;
}
