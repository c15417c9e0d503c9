/**
 * Reaching a daemon: `connect()` to its Unix socket, or `spawnDaemon()` to start one as a child and
 * speak over its stdio (a host app that owns its daemon).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PodkeeperError } from '../errors.js';
import { daemonCommand, resolveLocation } from '../location/home.js';
import { checkSocketPath } from '../location/socket-path.js';
import { PACKAGE_ROOT } from '../paths.js';
import { PodkeeperClient } from './client.js';

export interface ConnectOptions {
  /** Socket path. @default $PODKEEPER_SOCKET, else `socket` of config.json, else $home/podkeeper.sock */
  socket?: string;
  /** Daemon home, used to find the socket. @default $PODKEEPER_HOME, else the platform's data dir */
  home?: string;
  /** Seconds to wait for the connection. @default 5 */
  timeout?: number;
}

/** Connects to a running daemon; `DAEMON_NOT_RUNNING` (with the command that starts one) if none answers. */
export function connect(options: ConnectOptions = {}): Promise<PodkeeperClient> {
  const location = resolveLocation(options);
  checkSocketPath(location.socket);
  return new Promise((resolve, reject) => {
    const socket = createConnection(location.socket);
    const timer = setTimeout(
      () => {
        socket.destroy();
        reject(notRunning(location, `did not accept a connection within ${options.timeout ?? 5} s`));
      },
      (options.timeout ?? 5) * 1000,
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new PodkeeperClient(socket, socket, { name: `the daemon at ${location.socket}` }));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')
        reject(notRunning(location, error.code === 'ENOENT' ? 'has no socket' : 'refused the connection'));
      else
        reject(
          new PodkeeperError(
            'DAEMON_NOT_RUNNING',
            `Cannot connect to ${location.socket}: ${error.message}.`,
            {
              cause: error,
              details: { socket: location.socket },
            },
          ),
        );
    });
  });
}

function notRunning(location: { home: string; socket: string }, what: string): PodkeeperError {
  return new PodkeeperError(
    'DAEMON_NOT_RUNNING',
    `No podkeeper daemon is running at ${location.socket} (it ${what}). Start one with: ${daemonCommand(location)}`,
    { details: { socket: location.socket, home: location.home, start: daemonCommand(location) } },
  );
}

export interface SpawnDaemonOptions {
  /** Speak the control protocol over the child's stdio. The only mode. @default true */
  stdio?: true;
  /** Daemon home. @default as the daemon resolves it ($PODKEEPER_HOME, else the platform's data dir) */
  home?: string;
  /** Also listen on this socket (by default a stdio daemon listens on none). */
  socket?: string;
  recipePath?: string[];
  python?: string;
  idleTimeout?: number;
  maxMemoryMB?: number;
  logLevel?: string;
  /** Extra environment for the daemon and its pods. */
  env?: Record<string, string>;
  /** The daemon's stderr (its readable log). @default 'pipe' (kept for error messages) */
  stderr?: 'pipe' | 'inherit' | 'ignore';
  /** Seconds to wait for the daemon's first answer. @default 30 */
  startTimeout?: number;
  /** Seconds `close()` waits for the daemon to stop before killing it. @default 15 */
  stopTimeout?: number;
}

/** A client whose daemon is its own child process. */
export interface SpawnedDaemon extends PodkeeperClient {
  readonly child: ChildProcess;
}

const BIN = join(PACKAGE_ROOT, 'bin', 'podkeeper.js');
const STDERR_TAIL = 30;

/**
 * Starts `podkeeper daemon --stdio` as a child and returns a client speaking over its stdin/stdout.
 * `close()` ends the daemon's stdin (it stops gracefully, pods included) and waits for it to exit.
 */
export async function spawnDaemon(options: SpawnDaemonOptions = {}): Promise<SpawnedDaemon> {
  const args = [BIN, 'daemon', '--stdio'];
  if (options.home !== undefined) args.push('--home', options.home);
  if (options.socket !== undefined) args.push('--socket', options.socket);
  if (options.idleTimeout !== undefined) args.push('--idle-timeout', String(options.idleTimeout));
  if (options.maxMemoryMB !== undefined) args.push('--max-memory', String(options.maxMemoryMB));
  if (options.python !== undefined) args.push('--python', options.python);
  if (options.logLevel !== undefined) args.push('--log-level', options.logLevel);
  if (options.recipePath !== undefined) args.push('--recipe-path', options.recipePath.join(':'));
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', options.stderr ?? 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr.push(...text.split('\n').filter(Boolean));
    if (stderr.length > STDERR_TAIL) stderr.splice(0, stderr.length - STDERR_TAIL);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  const stopTimeout = (options.stopTimeout ?? 15) * 1000;
  const client = new PodkeeperClient(
    child.stdout as NonNullable<typeof child.stdout>,
    child.stdin as NonNullable<typeof child.stdin>,
    {
      name: `the daemon child (pid ${child.pid})`,
      onClose: async () => {
        child.stdin?.end();
        if (await settlesWithin(exited, stopTimeout)) return;
        child.kill('SIGTERM');
        if (await settlesWithin(exited, 5000)) return;
        child.kill('SIGKILL');
        await exited;
      },
    },
  ) as SpawnedDaemon;
  Object.defineProperty(client, 'child', { value: child, enumerable: true });

  const stderrDone = new Promise<void>((resolve) => {
    if (!child.stderr) resolve();
    child.stderr?.once('close', resolve);
  });
  const exitError = () =>
    new PodkeeperError(
      'DAEMON_NOT_RUNNING',
      `The daemon child exited during start (code ${child.exitCode}, signal ${child.signalCode}).` +
        (stderr.length > 0 ? `\nLast stderr lines:\n${stderr.join('\n')}` : ''),
      { details: { exitCode: child.exitCode, signal: child.signalCode, stderrTail: stderr } },
    );
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  spawnFailed.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new PodkeeperError('DAEMON_NOT_RUNNING', 'The daemon child did not answer `status` in time.')),
      (options.startTimeout ?? 30) * 1000,
    );
  });
  try {
    await Promise.race([client.status(), spawnFailed, tooSlow]);
  } catch (error) {
    // A child on its way out tells the better story: its exit code and its last words.
    const gone = await settlesWithin(exited, 2000);
    if (gone) await settlesWithin(stderrDone, 500);
    await client.close();
    throw gone ? exitError() : error;
  } finally {
    clearTimeout(timer);
  }
  return client;
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), delay(ms, false, { ref: false })]);
}
