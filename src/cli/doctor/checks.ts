/**
 * `podkeeper doctor`'s checks. Each answers one question about this machine and home, as a daemon
 * started with the same flags and environment would meet them, and says the fix for what is wrong:
 *
 *   node → home (owner, mode) → config (the daemon's own loader) → python → uv → env mode → disk → socket → daemon
 *
 * A check never throws: a problem is its `fail` (the daemon would not start, or nothing runs) or
 * `warn` (it works, with a cost or a risk) result. Checks that need the configuration are skipped
 * when it cannot be loaded.
 */
import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from '../../client/connect.js';
import { type DaemonConfig, type DaemonFlags, loadDaemonConfig } from '../../daemon/config.js';
import { discoverInstaller } from '../../env/installer.js';
import { resolveEnvMode } from '../../env/mode.js';
import { resolvePython } from '../../env/python.js';
import { daemonCommand, resolveHome, resolveLocation } from '../../location/home.js';
import { checkTrustedDir } from '../../location/home-checks.js';
import { checkSocketPath } from '../../location/socket-path.js';
import { nodeProblem } from '../../node-version.js';
import { runCommand } from '../../process/command.js';

type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

const GiB = 1024 ** 3;
/** Below this free space in the home, an env build (PyTorch is gigabytes) will likely fail. */
const DISK_WARN_BYTES = 5 * GiB;
const DISK_FAIL_BYTES = 0.5 * GiB;
const MIN_PYTHON = [3, 9];

export async function runChecks(
  flags: DaemonFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [checkNode()];
  const home = resolveHome(flags.home, env);
  const homeResult = checkHome(home);
  results.push(homeResult);
  let config: DaemonConfig | undefined;
  if (homeResult.status !== 'fail') {
    try {
      config = loadDaemonConfig(flags, env);
      results.push({ name: 'config', status: 'ok', detail: 'valid (see `podkeeper config`)' });
    } catch (error) {
      results.push({
        name: 'config',
        status: 'fail',
        detail: (error as Error).message,
        fix: 'Fix the value named.',
      });
    }
  }
  if (config) {
    results.push(await checkPython(config.python ?? 'python3'));
    results.push(await checkUv(config, env));
    results.push(checkEnvMode(config));
  }
  results.push(checkDisk(home));
  const location = resolveLocation(flags, env);
  results.push(checkSocket(location.socket));
  results.push(await checkDaemon(location));
  return results;
}

function checkNode(): CheckResult {
  const problem = nodeProblem();
  return problem
    ? { name: 'node', status: 'fail', detail: problem, fix: 'Install Node 22.12 or newer.' }
    : { name: 'node', status: 'ok', detail: `${process.version} (${process.execPath})` };
}

function checkHome(home: string): CheckResult {
  if (!existsSync(home))
    return { name: 'home', status: 'ok', detail: `${home} (missing: the daemon creates it, mode 700)` };
  try {
    const real = checkTrustedDir(home, 'home');
    return { name: 'home', status: 'ok', detail: `${real} (yours, writable by you alone)` };
  } catch (error) {
    // The message ends with the fix (the chmod to run, or another home to use).
    return { name: 'home', status: 'fail', ...splitFix(error) };
  }
}

async function checkPython(command: string): Promise<CheckResult> {
  try {
    const python = await resolvePython(command);
    const [major = 0, minor = 0] = python.version.split('.').map(Number);
    const detail = `Python ${python.version} (${python.executable})`;
    if (major < (MIN_PYTHON[0] ?? 3) || (major === MIN_PYTHON[0] && minor < (MIN_PYTHON[1] ?? 9)))
      return {
        name: 'python',
        status: 'fail',
        detail,
        fix: 'Install Python 3.9+ and set --python or PODKEEPER_PYTHON.',
      };
    return { name: 'python', status: 'ok', detail };
  } catch (error) {
    return {
      name: 'python',
      status: 'fail',
      detail: (error as Error).message,
      fix: 'Install Python 3.9+, or point --python / PODKEEPER_PYTHON at one.',
    };
  }
}

async function checkUv(config: DaemonConfig, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  try {
    const installer = await discoverInstaller({
      explicit: config.uv,
      path: env['PATH'] ?? '',
      home: config.home,
      python: config.python ?? 'python3',
      run: (command, args) => runCommand(command, args, { env: { ...env }, timeoutMs: 30_000 }),
      install: false,
    });
    if (installer.kind === 'uv')
      return {
        name: 'uv',
        status: 'ok',
        detail: `uv ${installer.version} (${installer.path}, from ${installer.source})`,
      };
    return {
      name: 'uv',
      status: 'warn',
      detail: installer.reason,
      fix: 'Install uv (`python3 -m pip install --user uv`, or https://docs.astral.sh/uv/) or set --uv / PODKEEPER_UV; otherwise the first build needs PyPI.',
    };
  } catch (error) {
    return {
      name: 'uv',
      status: 'fail',
      detail: (error as Error).message,
      fix: 'Point --uv / PODKEEPER_UV at a working uv.',
    };
  }
}

function checkEnvMode(config: DaemonConfig): CheckResult {
  const mode = resolveEnvMode(config.envMode);
  const detail = `${config.envMode}${config.envMode === 'auto' ? ` (= ${mode})` : ''}`;
  if (mode === 'system' && process.geteuid?.() !== 0)
    return {
      name: 'env mode',
      status: 'warn',
      detail: `${detail}: pods install into the interpreter itself, and you are not root`,
      fix: 'Use --env-mode venv unless this interpreter is yours to change (a container image).',
    };
  return { name: 'env mode', status: 'ok', detail };
}

function checkDisk(home: string): CheckResult {
  let dir = home;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  const detail = `${(free / GiB).toFixed(1)} GiB free at ${dir}`;
  const fix = 'Free some space (`podkeeper gc` removes unused envs) or use a home on a larger disk (--home).';
  if (free < DISK_FAIL_BYTES) return { name: 'disk', status: 'fail', detail, fix };
  if (free < DISK_WARN_BYTES)
    return { name: 'disk', status: 'warn', detail: `${detail} (recipes with PyTorch need several GiB)`, fix };
  return { name: 'disk', status: 'ok', detail };
}

function checkSocket(socket: string): CheckResult {
  try {
    checkSocketPath(socket);
  } catch (error) {
    return { name: 'socket', status: 'fail', ...splitFix(error) };
  }
  return { name: 'socket', status: 'ok', detail: socket };
}

async function checkDaemon(location: { home: string; socket: string }): Promise<CheckResult> {
  try {
    const client = await connect({ home: location.home, socket: location.socket });
    try {
      const status = await client.status();
      return {
        name: 'daemon',
        status: 'ok',
        detail: `running: pid ${status.pid}, podkeeper ${status.version}, up ${Math.round(status.uptimeSeconds)} s`,
      };
    } finally {
      await client.close();
    }
  } catch (error) {
    return {
      name: 'daemon',
      status: 'fail',
      detail: (error as Error).message.split('. Start one with')[0] ?? '',
      fix: `Start one: ${daemonCommand(location)} (or \`podkeeper daemon --detach\`, or \`podkeeper service install\`).`,
    };
  }
}

/** A podkeeper message ends with the sentence that says what to do: that is the fix. */
function splitFix(error: unknown): { detail: string; fix: string } {
  const message = (error as Error).message;
  const sentences = message.split(/(?<=\.)\s+(?=[A-Za-z`])/);
  if (sentences.length < 2) return { detail: message, fix: message };
  return { detail: sentences.slice(0, -1).join(' '), fix: sentences.at(-1) ?? '' };
}
