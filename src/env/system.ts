/**
 * System mode (docs/architecture.md#environments): pods run on the system interpreter, as in a
 * Docker image that already carries PyTorch. What the interpreter has is never upgraded nor
 * downgraded:
 *
 *   requirements ─▶ dry run against the system ─ "no changes" ──────────────────▶ satisfied
 *                                               ├ only additions ─▶ install --system,
 *                                               │                  constrained to the freeze ▶ installed
 *                                               └ would replace or remove ─────────────────▶ conflict
 *
 * A conflict is answered by the caller with a layered venv (`--system-site-packages`) holding only
 * what differs: the `+` lines of the plan (uv), so the image's big packages are still shared.
 * The first dry run is offline (~20 ms, uv's own requirement matching); only when it cannot decide
 * (something is not in the cache) is the index asked. Every install into the system is constrained
 * to a freeze of what is installed, so even a plan that changed between the dry run and the install
 * cannot replace anything: the install fails instead.
 * uv is told `--python-preference only-system`: it must never swap in a Python of its own here.
 * Without uv, pip does the same: a constrained install, and a conflict when only the unconstrained
 * dry run succeeds (pip then layers the recipe's requirements itself, skipping what the system has).
 * What is installed is compiled to bytecode at once (see venv.ts).
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CommandResult, succeeded } from '../process/command.js';
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
  /** Where the constraints file is written for the time of an install. */
  workDir: string;
  progress: (progress: EnvProgress) => void;
}

export type SystemOutcome =
  | { kind: 'satisfied' }
  | { kind: 'installed' }
  /** `differing`: what a layered venv must hold (null: let its installer decide, as pip does). */
  | { kind: 'conflict'; differing: string[] | null };

interface Plan {
  result: CommandResult;
  /** ` + name==version` lines: what would be installed. */
  adds: string[];
  /** ` - name==version` or ` ~ …` lines: what would be removed or replaced. */
  replaces: string[];
}

export async function ensureSystemRequirements(install: SystemInstall): Promise<SystemOutcome> {
  if (install.requirements.length === 0) return { kind: 'satisfied' };
  return install.installer.kind === 'pip' ? withPip(install) : withUv(install, install.installer.path);
}

async function withUv(install: SystemInstall, uv: string): Promise<SystemOutcome> {
  const links = install.wheelhouse ? ['--find-links', install.wheelhouse] : [];
  const target = ['--system', '--python-preference', 'only-system', '--python', install.python, ...links];
  const dryRun = async (offline: boolean): Promise<Plan> => {
    const adds: string[] = [];
    const replaces: string[] = [];
    const args = ['pip', 'install', '--dry-run', ...(offline ? ['--offline'] : []), ...target];
    const result = await install.run(uv, [...args, '--', ...install.requirements], {
      onLine: (line) => {
        const change = /^ ([-+~]) (\S.*)$/.exec(line);
        if (change?.[1] === '+') adds.push(change[2] ?? '');
        else if (change) replaces.push(change[2] ?? '');
      },
    });
    return { result, adds, replaces };
  };

  install.progress({ phase: 'checking', message: 'checking which requirements the system Python lacks' });
  let plan = await dryRun(true);
  if (!succeeded(plan.result)) {
    install.progress({ phase: 'resolving', message: `resolving ${install.requirements.join(', ')}` });
    plan = await dryRun(false);
    if (!succeeded(plan.result))
      throw envBuildFailed(failure(install, 'resolving against the system Python'), plan.result);
  }
  if (
    plan.result.outputTail.some((line) => line.startsWith('Would make no changes')) &&
    plan.adds.length === 0
  )
    return { kind: 'satisfied' };
  if (plan.replaces.length > 0) return { kind: 'conflict', differing: plan.adds };

  install.progress({
    phase: 'resolving',
    message: `installing what is missing of ${install.requirements.join(', ')}`,
  });
  const freeze = await install.run(uv, ['pip', 'freeze', '--system', '--python', install.python]);
  const result = await withConstraints(install, freeze, (constraints) =>
    install.run(
      uv,
      [
        'pip',
        'install',
        '--compile-bytecode',
        ...target,
        '--constraint',
        constraints,
        '--',
        ...install.requirements,
      ],
      {
        onLine: forward(install),
      },
    ),
  );
  if (!succeeded(result)) throw envBuildFailed(failure(install, 'installing into the system Python'), result);
  return { kind: 'installed' };
}

async function withPip(install: SystemInstall): Promise<SystemOutcome> {
  const links = install.wheelhouse ? ['--find-links', install.wheelhouse] : [];
  const pip = ['-m', 'pip', '--disable-pip-version-check', '--no-input'];
  install.progress({ phase: 'resolving', message: `pip: ${install.requirements.join(', ')}` });
  const freeze = await install.run(install.python, [...pip, 'freeze']);
  const result = await withConstraints(install, freeze, (constraints) =>
    install.run(
      install.python,
      [...pip, 'install', '--compile', ...links, '-c', constraints, '--', ...install.requirements],
      {
        onLine: forward(install),
      },
    ),
  );
  if (succeeded(result)) {
    const installed = result.outputTail.some((line) => line.startsWith('Successfully installed'));
    return { kind: installed ? 'installed' : 'satisfied' };
  }
  // Constrained to what is installed it fails: a conflict if it resolves unconstrained.
  const free = await install.run(install.python, [
    ...pip,
    'install',
    '--dry-run',
    ...links,
    '--',
    ...install.requirements,
  ]);
  if (succeeded(free)) return { kind: 'conflict', differing: null };
  throw envBuildFailed(failure(install, 'installing into the system Python with pip'), result);
}

/** Runs `command` with a constraints file pinning every distribution `freeze` listed. */
async function withConstraints(
  install: SystemInstall,
  freeze: CommandResult,
  command: (constraints: string) => Promise<CommandResult>,
): Promise<CommandResult> {
  if (!succeeded(freeze))
    throw envBuildFailed(failure(install, 'listing what the system Python has'), freeze);
  const pins = freeze.stdout.split('\n').filter((line) => /^[A-Za-z0-9][\w.-]*==\S+$/.test(line.trim()));
  const file = join(install.workDir, `.system-constraints-${randomBytes(6).toString('hex')}.txt`);
  await writeFile(file, `${pins.join('\n')}\n`);
  try {
    return await command(file);
  } finally {
    await rm(file, { force: true });
  }
}

function failure(install: SystemInstall, step: string) {
  return { recipe: install.recipe, requirements: install.requirements, step };
}

function forward(install: SystemInstall): (line: string) => void {
  return (line) => {
    const progress = parseInstallerLine(line);
    if (progress) install.progress(progress);
  };
}
