/**
 * `podkeeper daemon --detach`: the daemon in the background, for those who want no service manager.
 *
 *   daemon already answering? ─ yes ─▶ DAEMON_ALREADY_RUNNING (its pid)
 *        │ no
 *   config valid? (the daemon's own loader) ─ no ─▶ INVALID_OPTION, nothing started
 *        │ yes
 *   spawn `podkeeper daemon …` detached (own session, stdio → $home/logs/detached.log, pid file)
 *        │
 *   poll `status` until it answers ─▶ with the child's pid: print it, exit 0
 *        ├─ with another pid (a --detach racing this one won) ─▶ DAEMON_ALREADY_RUNNING
 *        └─ the child exits first, or no answer in time ─▶ its last log lines as the error
 *
 * The child writes the pid file itself (`--pid-file`) once it holds the socket, and removes it when
 * it stops, `shutdown` included.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodkeeperClient } from '../client/client.js';
import { connect } from '../client/connect.js';
import { type DaemonFlags, loadDaemonConfig } from '../daemon/config.js';
import { PodkeeperError } from '../errors.js';
import { resolveHome } from '../location/home.js';
import { createHome } from '../location/home-checks.js';
import { PACKAGE_ROOT } from '../paths.js';

/** Seconds a detached daemon may take to answer `status`. */
const READY_TIMEOUT_S = 30;

function pidFileOf(home: string): string {
  return join(home, 'podkeeper.pid');
}

/** Starts the daemon in the background; resolves with its pid once it answers. */
export async function detachDaemon(flags: DaemonFlags, argv: readonly string[]): Promise<number> {
  createHome(resolveHome(flags.home));
  const config = loadDaemonConfig(flags);
  const running = await answering(config);
  if (running !== undefined) throw alreadyRunning(config, running);
  const logs = join(config.home, 'logs');
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  const logFile = join(logs, 'detached.log');
  const out = openSync(logFile, 'w', 0o600); // this run's output only: daemon.log keeps the history
  const args = [...argv.filter((arg) => arg !== '--detach'), '--pid-file', pidFileOf(config.home)];
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'podkeeper.js'), ...args], {
    detached: true, // its own session: a closed terminal (SIGHUP) does not reach it
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  });
  child.unref();
  const deadline = Date.now() + READY_TIMEOUT_S * 1000;
  while (exited === undefined && Date.now() < deadline) {
    const pid = await answering(config);
    if (pid !== undefined && pid === child.pid) return pid;
    if (pid !== undefined) throw alreadyRunning(config, pid); // ours loses the socket and exits by itself
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (exited === undefined) child.kill('SIGTERM');
  throw new PodkeeperError(
    'SPAWN_FAILED',
    `The detached daemon ${exited ?? `did not answer within ${READY_TIMEOUT_S} s and was stopped`}. ` +
      `Its output (${logFile}):\n${tail(logFile)}`,
    { details: { log: logFile } },
  );
}

function alreadyRunning(config: { home: string; socket: string }, pid: number): PodkeeperError {
  return new PodkeeperError(
    'DAEMON_ALREADY_RUNNING',
    `A podkeeper daemon is already running on ${config.socket} (pid ${pid}). Stop it first with ` +
      `\`podkeeper shutdown --home ${config.home}\`.`,
    { details: { socket: config.socket, pid } },
  );
}

/** The pid of the daemon answering on the configured socket, or undefined when none does. */
async function answering(config: { home: string; socket: string }): Promise<number | undefined> {
  let client: PodkeeperClient;
  try {
    client = await connect({ home: config.home, socket: config.socket, timeout: 2 });
  } catch {
    return undefined;
  }
  try {
    return (await client.status()).pid;
  } catch {
    return undefined;
  } finally {
    await client.close();
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  } catch {
    return '(none)';
  }
}
