/**
 * The base interpreter pods run on when a recipe needs no environment of its own. It is resolved
 * once, to the real executable (`sys.executable`), so that each spawn skips launcher shims such as
 * pyenv's, which would add tens of milliseconds to every pod start.
 */
import { execa } from 'execa';
import { PodkeeperError } from '../errors.js';

export interface PythonInterpreter {
  /** Absolute path of the interpreter (`sys.executable`). */
  executable: string;
  /** `major.minor.micro`. */
  version: string;
}

const PROBE =
  'import sys, json; print(json.dumps({"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3]}))';

export async function resolvePython(command: string): Promise<PythonInterpreter> {
  const result = await execa(command, ['-c', PROBE], { reject: false, timeout: 30_000 });
  if (result.failed || result.exitCode !== 0) {
    throw new PodkeeperError(
      'INVALID_OPTION',
      `python: cannot run "${command}" (${result.stderr.trim() || result.shortMessage}). ` +
        'Install Python 3.9+ or point the `python` option (env PODKEEPER_PYTHON) at an interpreter.',
      { details: { python: command } },
    );
  }
  const info = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as PythonInterpreter;
  return { executable: info.executable || command, version: info.version };
}
