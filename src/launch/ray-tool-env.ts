/**
 * The bridge's interpreter: a tool env with `ray==<version>`, built with uv on first use under
 * `$PODKEEPER_HOME/tools/ray-<version>` (never the machine's own Python). Built in a temporary
 * folder and renamed into place, so a failed or interrupted build leaves nothing half-written.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PodkeeperError } from '../errors.js';
import { describeFailure, runCommand, succeeded } from '../process/command.js';

export interface ToolEnvOptions {
  home: string;
  version: string;
  uv: string;
  /** The base interpreter the env is made from. */
  python: string;
  env: Record<string, string | undefined>;
  logger?: Logger;
}

const building = new Map<string, Promise<string>>();

/** The tool env's interpreter; builds the env once (concurrent callers share the build). */
export function rayToolPython(options: ToolEnvOptions): Promise<string> {
  const dir = join(options.home, 'tools', `ray-${options.version}`);
  const python = join(dir, 'bin', 'python');
  if (existsSync(python)) return Promise.resolve(python);
  let build = building.get(dir);
  if (!build) {
    build = buildToolEnv(dir, options).then(
      () => python,
      (error: unknown) => {
        building.delete(dir);
        throw error;
      },
    );
    building.set(dir, build);
  }
  return build;
}

async function buildToolEnv(dir: string, options: ToolEnvOptions): Promise<void> {
  const staging = `${dir}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(options.home, 'tools'), { recursive: true });
  const run = (args: string[]) =>
    runCommand(options.uv, args, { env: options.env, logger: options.logger, timeoutMs: 600_000 });
  try {
    // --relocatable: the env is built under one name and renamed into place.
    const venv = await run(['venv', '--quiet', '--relocatable', '--python', options.python, staging]);
    if (!succeeded(venv)) throw failed(options.version, describeFailure(venv));
    const pip = await run([
      'pip',
      'install',
      '--python',
      join(staging, 'bin', 'python'),
      `ray==${options.version}`,
    ]);
    if (!succeeded(pip)) throw failed(options.version, describeFailure(pip));
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

function failed(version: string, why: string): PodkeeperError {
  return new PodkeeperError(
    'ENV_BUILD_FAILED',
    `Could not build the Ray bridge's tool env (ray==${version}) with uv: ${why}. Set the launcher's ` +
      '`python` to an interpreter that has this ray, or check that PyPI (or your index) is reachable.',
    { details: { rayVersion: version } },
  );
}
