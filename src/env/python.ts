/**
 * The base interpreter pods run on when a recipe needs no environment of its own. It is resolved
 * once, to the real executable (`sys.executable`), so that each spawn skips launcher shims such as
 * pyenv's, which would add tens of milliseconds to every pod start. The same probe byte-compiles the
 * runner for that interpreter: with PYTHONDONTWRITEBYTECODE set (common in containers) every pod
 * would otherwise recompile it at start, about 10 ms each time.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PodkeeperError } from '../errors.js';
import { PODS_DIR } from '../paths.js';

export interface PythonInterpreter {
  /** Absolute path of the interpreter (`sys.executable`). */
  executable: string;
  /** `major.minor.micro`. */
  version: string;
}

const PROBE = [
  'import sys, json',
  'try:',
  '    import compileall',
  '    compileall.compile_dir(sys.argv[1], quiet=2)',
  'except Exception:',
  '    pass',
  'print(json.dumps({"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3]}))',
].join('\n');

export async function resolvePython(command: string): Promise<PythonInterpreter> {
  const runner = join(PODS_DIR, 'podkeeper_pod');
  const result = await run(command, ['-c', PROBE, runner]);
  if (result.failure !== undefined) {
    throw new PodkeeperError(
      'INVALID_OPTION',
      `python: cannot run "${command}" (${result.stderr.trim() || result.failure}). ` +
        'Install Python 3.9+ or point the `python` option (env PODKEEPER_PYTHON) at an interpreter.',
      { details: { python: command } },
    );
  }
  const info = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as PythonInterpreter;
  return { executable: info.executable || command, version: info.version };
}

/** Runs the probe; `failure` says why it did not exit 0 (not found, killed after 30 s, exit code). */
function run(command: string, args: string[]): Promise<{ stdout: string; stderr: string; failure?: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      resolve(error ? { stdout, stderr, failure: error.message } : { stdout, stderr });
    });
  });
}
