/**
 * The processes the socket benches measure, started the same way for each: a real daemon
 * (`bin/podkeeper.js daemon`, as a user or a service unit starts it), the zero-logic relay
 * (echo-relay.js), and their RSS read from /proc.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../dist/client/index.js';

const ROOT = join(import.meta.dirname, '..');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The relay on `path`, answering once it listens. `nodeFlags` go before the script (V8 flags). */
export async function startRelay(path, python, nodeFlags = []) {
  const child = spawn(
    process.execPath,
    [...nodeFlags, join(ROOT, 'scripts', 'echo-relay.js'), path, python],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await once(child.stdout, 'data');
  return child;
}

/** Stops a child (a relay, a bare Node) and waits for its exit, so nothing writes in a removed home. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/**
 * A daemon on `home` with pods never reclaimed; resolves once the client library connects.
 * `args` are more daemon options (default `--log-level warn`); `env` is added to ours; `nodeFlags`
 * go to Node before the script (the daemon keeps them when it re-executes itself).
 */
export async function startDaemon(home, { env = {}, args = ['--log-level', 'warn'], nodeFlags = [] } = {}) {
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      join(ROOT, 'bin', 'podkeeper.js'),
      'daemon',
      '--home',
      home,
      '--idle-timeout',
      '-1',
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } },
  );
  for (let i = 0; i < 400; i++) {
    try {
      return { child, client: await connect({ home }) };
    } catch {
      await sleep(25);
    }
  }
  child.kill('SIGKILL');
  throw new Error('the daemon did not start');
}

/** Stops a daemon started by {@link startDaemon} and waits for its exit. */
export async function stopDaemon({ child, client }) {
  await client.shutdown().catch(() => undefined);
  await client.close();
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

/** Resident memory of `pid`, MB (Linux /proc). */
export function rssMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Copies of the built-in echo recipe under these names, in `dir` (made); returns `dir`. */
export function echoCopies(dir, names) {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    cpSync(join(ROOT, 'recipes', 'echo'), join(dir, name), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, name, 'recipe.json'), 'utf8'));
    writeFileSync(join(dir, name, 'recipe.json'), JSON.stringify({ ...manifest, name, capability: name }));
  }
  return dir;
}
