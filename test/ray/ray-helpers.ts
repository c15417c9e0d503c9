/**
 * A Ray cluster for the test:ray suite: `ray` installed with uv into a throwaway env, then
 * test/ray/cluster.py (a head and two workers on 127.0.0.1, one with `gpu_host: 1`, no dashboard).
 * The cluster runs without the tests' run marker (it is not a pod), and is ended by pid: its
 * stdin closes (a clean shutdown), then SIGKILL if it is still there.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import split2 from 'split2';
import { RAY_VERSION } from '../../src/launch/config.js';

export interface RayNode {
  name: 'head' | 'worker' | 'gpu';
  nodeId: string;
  raylet: number;
}

export interface RayCluster {
  address: string;
  nodes: RayNode[];
  python: string;
  /** RAY_TMPDIR of the cluster: sessions, sockets and logs. */
  tmp: string;
  /** The environment a driver (a bridge) needs to stay on loopback and find the cluster. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * `ray` in a throwaway uv env (uv's cache makes the second install quick), with `virtualenv` and `pip`, which
 * Ray's pip runtime_env needs on a node (`ray[default]` brings it too).
 */
export function installRay(root: string): string {
  const venv = join(root, 'venv');
  execFileSync('uv', ['venv', '--quiet', '--python', 'python3', venv], { stdio: 'inherit' });
  const python = join(venv, 'bin', 'python');
  execFileSync(
    'uv',
    ['pip', 'install', '--quiet', '--python', python, `ray==${RAY_VERSION}`, 'virtualenv', 'pip'],
    {
      stdio: 'inherit',
    },
  );
  return python;
}

export async function startCluster(): Promise<RayCluster> {
  // Short: Ray's unix socket paths live under it, and must fit in 107 bytes.
  const root = mkdtempSync(join(tmpdir(), 'pkray-'));
  const python = installRay(root);
  const tmp = join(root, 't');
  const env = { RAY_TMPDIR: tmp, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER: '0' };
  const child = spawn(python, [join(import.meta.dirname, 'cluster.py'), tmp], {
    env: { ...withoutMarker(process.env), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const info = await new Promise<{ address: string; nodes: RayNode[] }>((resolve, reject) => {
    child.stdout?.pipe(split2()).once('data', (line: string) => resolve(JSON.parse(line)));
    void exited.then(() => reject(new Error(`the Ray cluster did not start:\n${stderr}`)));
  });
  return {
    ...info,
    python,
    tmp,
    env,
    stop: async () => {
      await stopCluster(child, exited);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function stopCluster(child: ChildProcess, exited: Promise<void>): Promise<void> {
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

function withoutMarker(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy['PODKEEPER_TEST_RUN'];
  return copy;
}

/** Pids of live Ray worker processes (actors) on the cluster's nodes whose title names `what`. */
export function rayWorkers(what: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (cmdline.startsWith('ray::') && cmdline.includes(what)) found.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return found;
}

/** Every file under `dir` whose content includes `text` (Ray's logs and session files). */
export function filesHolding(dir: string, text: string): string[] {
  const hits: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        try {
          if (readFileSync(path, 'latin1').includes(text)) hits.push(path);
        } catch {
          // a socket, or gone
        }
      }
    }
  };
  walk(dir);
  return hits;
}
