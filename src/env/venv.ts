/**
 * Creating one venv and installing a dependency list into it, with uv (`uv venv` + `uv pip install`)
 * or, when uv is unavailable, `python -m venv` + pip. Only the filesystem work of one build: where it
 * happens, the lock, the rename into place and the fingerprint are the caller's (envs.ts).
 * Packages are compiled to bytecode as they are installed (`--compile-bytecode`; pip compiles by
 * default): where PYTHONDONTWRITEBYTECODE is set, no pod would ever write a `.pyc`, and every start
 * would compile every module it imports again.
 *
 * uv's Python preference in venv mode: the base interpreter, by path; when the recipe's `python`
 * requirement rules the base out, uv gets the requirement and prefers a managed Python, downloading
 * one if downloads are allowed (the `pythonDownloads` option, else `UV_PYTHON_DOWNLOADS`).
 */
import { join } from 'node:path';
import { succeeded } from '../process/command.js';
import { envBuildFailed, envProblem } from './failure.js';
import type { Installer, Run } from './installer.js';
import { type EnvProgress, parseInstallerLine } from './progress.js';
import type { PythonInterpreter } from './python.js';

export interface VenvBuild {
  recipe: string;
  hash: string;
  installer: Installer;
  run: Run;
  base: PythonInterpreter;
  /** The recipe's `python` requirement when the base does not satisfy it. */
  pythonRequest: string | null;
  requirements: string[];
  /** A layered venv: it sees the base interpreter's own packages (system mode, on a conflict). */
  systemSitePackages: boolean;
  /** Install exactly `requirements`, no dependencies (they were resolved against the base already). */
  noDeps: boolean;
  wheelhouse: string | undefined;
  pythonDownloads: boolean | undefined;
  progress: (progress: EnvProgress) => void;
}

/** Builds a venv at `dir` (which must not exist yet). Throws `ENV_BUILD_FAILED`. */
export async function buildVenv(dir: string, build: VenvBuild): Promise<void> {
  if (build.installer.kind === 'uv') await buildWithUv(dir, build, build.installer.path);
  else await buildWithPip(dir, build);
}

async function buildWithUv(dir: string, build: VenvBuild, uv: string): Promise<void> {
  const python = build.pythonRequest ?? build.base.executable;
  build.progress({ phase: 'creating', message: `creating the venv with Python ${python}` });
  const venvArgs = ['venv', dir, '--no-project', '--relocatable', '--python', python];
  if (build.systemSitePackages) venvArgs.push('--system-site-packages');
  const env: Record<string, string | undefined> = {};
  if (build.pythonRequest !== null) {
    venvArgs.push('--python-preference', 'managed');
    if (build.pythonDownloads === false) venvArgs.push('--no-python-downloads');
    if (build.pythonDownloads === true) env['UV_PYTHON_DOWNLOADS'] = 'automatic';
  }
  const created = await build.run(uv, venvArgs, { env, onLine: forward(build) });
  if (!succeeded(created)) {
    const hint =
      build.pythonRequest === null
        ? undefined
        : `The recipe asks for Python ${build.pythonRequest} and the base interpreter is ${build.base.version}: ` +
          'install a matching Python, point the `python` option at one, or allow uv to download one ' +
          '(the `pythonDownloads` option, UV_PYTHON_DOWNLOADS).';
    throw envBuildFailed({ ...failure(build, 'creating the venv'), ...(hint ? { hint } : {}) }, created);
  }
  if (build.requirements.length === 0) return;

  build.progress({ phase: 'resolving', message: `resolving ${build.requirements.join(', ')}` });
  const installArgs = ['pip', 'install', '--compile-bytecode', '--python', join(dir, 'bin', 'python')];
  if (build.wheelhouse) installArgs.push('--find-links', build.wheelhouse);
  if (build.noDeps) installArgs.push('--no-deps');
  const installed = await build.run(uv, [...installArgs, '--', ...build.requirements], {
    onLine: forward(build),
  });
  if (!succeeded(installed)) throw envBuildFailed(failure(build, 'installing the dependencies'), installed);
}

async function buildWithPip(dir: string, build: VenvBuild): Promise<void> {
  if (build.pythonRequest !== null) {
    throw envProblem(
      { recipe: build.recipe, hash: build.hash, step: 'choosing the interpreter' },
      `it needs Python ${build.pythonRequest}, the base interpreter is ${build.base.version}, and without uv ` +
        'podkeeper cannot fetch another one. Install uv, or point the `python` option at a matching interpreter.',
    );
  }
  build.progress({
    phase: 'creating',
    message: `creating the venv with ${build.base.executable} -m venv (no uv)`,
  });
  const venvArgs = ['-m', 'venv', ...(build.systemSitePackages ? ['--system-site-packages'] : []), dir];
  const created = await build.run(build.base.executable, venvArgs, { onLine: forward(build) });
  if (!succeeded(created)) throw envBuildFailed(failure(build, 'creating the venv'), created);
  if (build.requirements.length === 0) return;
  build.progress({ phase: 'resolving', message: `resolving ${build.requirements.join(', ')}` });
  const args = ['-m', 'pip', 'install', '--compile', '--disable-pip-version-check', '--no-input'];
  if (build.wheelhouse) args.push('--find-links', build.wheelhouse);
  if (build.noDeps) args.push('--no-deps');
  const installed = await build.run(join(dir, 'bin', 'python'), [...args, '--', ...build.requirements], {
    onLine: forward(build),
  });
  if (!succeeded(installed)) throw envBuildFailed(failure(build, 'installing the dependencies'), installed);
}

function failure(build: VenvBuild, step: string) {
  return { recipe: build.recipe, hash: build.hash, requirements: build.requirements, step };
}

function forward(build: VenvBuild): (line: string) => void {
  return (line) => {
    const progress = parseInstallerLine(line);
    if (progress) build.progress(progress);
  };
}
