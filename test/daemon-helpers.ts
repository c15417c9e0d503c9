/**
 * Real daemons for the end-to-end tests: `node bin/podkeeper.js daemon` on a temporary home, its
 * pods carrying this file's run marker (so `ourProcesses()` catches a leak), a raw JSON-lines
 * connection to its socket, and the CLI run as a child. Everything is registered on the cleanup list.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import split2 from 'split2';
import { FIXTURE_RECIPES, onCleanup, RUN_MARKER, tempDir } from './helpers.js';

export const ROOT = join(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'podkeeper.js');

assertBuilt();

/** The e2e tests run the built CLI: refuse to test a dist/ older than src/. */
function assertBuilt(): void {
  const built = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(built)) throw new Error('dist/ is missing: run `npm run build` before these tests.');
  const builtAt = statSync(built).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
        entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs,
      ),
    );
  const sources = ['control', 'daemon', 'client', 'cli', 'protocol', 'http'].map((d) =>
    newest(join(ROOT, 'src', d)),
  );
  if (Math.max(...sources) > builtAt + 1000)
    throw new Error('dist/ is older than src/: run `npm run build` before these tests.');
}

/** Environment for a daemon or CLI child: the run marker, the fixture recipes, no inherited home. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PODKEEPER_TEST_RUN: RUN_MARKER,
    PODKEEPER_RECIPE_PATH: FIXTURE_RECIPES,
    NO_COLOR: '1',
    ...extra,
  };
  for (const key of ['PODKEEPER_HOME', 'PODKEEPER_SOCKET', 'FORCE_COLOR'])
    if (!(key in extra)) delete env[key];
  for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key];
  return env;
}

export interface TestDaemon {
  home: string;
  socket: string;
  child: ChildProcess;
  /** What the daemon wrote on stderr so far. */
  stderr(): string;
  /** Settles with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  home?: string;
  args?: string[];
  /** Written to $home/config.json first. */
  config?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** Wait until the socket accepts. @default true */
  waitReady?: boolean;
  /** Run the daemon under `ulimit -n` of this many file descriptors. @default the test's own limit */
  maxOpenFiles?: number;
  /** The command line that runs `bin/podkeeper.js daemon …` (given as `argv`). @default this Node */
  command?: (argv: string[]) => string[];
}

/** Starts a daemon as a child; cleanup stops it (SIGTERM, then SIGKILL) if it still runs. */
export async function startDaemon(options: StartOptions = {}): Promise<TestDaemon> {
  const home = options.home ?? tempDir('pk-home-');
  if (options.config) writeFileSync(join(home, 'config.json'), JSON.stringify(options.config));
  const argv = [BIN, 'daemon', '--home', home, ...(options.args ?? [])];
  const limited = options.maxOpenFiles !== undefined;
  const [command = process.execPath, ...args] = options.command
    ? options.command(argv)
    : limited
      ? ['/bin/sh', '-c', `ulimit -n ${options.maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...argv]
      : [process.execPath, ...argv];
  const child = spawn(command, args, {
    env: childEnv({ ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(8000).then(() => false)]);
    if (!stopped) child.kill('SIGKILL');
    await exited;
  });
  const daemon: TestDaemon = {
    home,
    socket: socketArg(options.args) ?? join(home, 'podkeeper.sock'),
    child,
    stderr: () => stderr,
    exited,
  };
  if (options.waitReady !== false) await waitForSocket(daemon);
  return daemon;
}

function socketArg(args: string[] | undefined): string | undefined {
  const at = args?.indexOf('--socket') ?? -1;
  return at >= 0 ? args?.[at + 1] : undefined;
}

async function waitForSocket(daemon: TestDaemon): Promise<void> {
  const deadline = Date.now() + 15_000;
  let gone = false;
  void daemon.exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the daemon exited during start:\n${daemon.stderr()}`);
    if (await accepts(daemon.socket)) return;
    await sleep(25);
  }
  throw new Error(`the daemon did not listen within 15 s:\n${daemon.stderr()}`);
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A raw JSON-lines connection to a daemon's socket, recording every line it receives. */
export interface RawConnection {
  socket: Socket;
  received: Record<string, unknown>[];
  send(message: unknown): void;
  /** Writes text as is (no newline added). */
  write(text: string): void;
  /** The first received line (past or future) that matches. */
  waitFor(match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** The final answer to request `id`. */
  answer(id: unknown, ms?: number): Promise<Record<string, unknown>>;
  close(): void;
}

export async function rawConnect(path: string): Promise<RawConnection> {
  const socket = createConnection(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  const received: Record<string, unknown>[] = [];
  const waiters = new Set<{
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }>();
  socket.pipe(split2(JSON.parse)).on('data', (line: Record<string, unknown>) => {
    received.push(line);
    for (const waiter of waiters) {
      if (waiter.match(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  onCleanup(() => socket.destroy());
  const waitFor = (match: (line: Record<string, unknown>) => boolean, ms = 10_000) => {
    const seen = received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const waiter = { match, resolve };
      waiters.add(waiter);
      setTimeout(() => {
        if (waiters.delete(waiter))
          reject(new Error(`no matching line within ${ms} ms; got ${JSON.stringify(received.slice(-5))}`));
      }, ms).unref();
    });
  };
  return {
    socket,
    received,
    send: (message) => socket.write(`${JSON.stringify(message)}\n`),
    write: (text) => socket.write(text),
    waitFor,
    answer: (id, ms) => waitFor((line) => line['id'] === id && 'success' in line, ms),
    close: () => socket.destroy(),
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `podkeeper ARGS` to completion. */
export function runCli(
  args: string[],
  options: { input?: string; env?: Record<string, string | undefined> } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  child.stdin.end(options.input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface LogFollower {
  /** What it printed so far. */
  output(): string;
  /** Whether it still runs. */
  running(): boolean;
  /** Ctrl-C; settles with the exit code. */
  interrupt(): Promise<number | null>;
}

/**
 * `podkeeper logs TARGET -f` as a child, resolved once it is subscribed: when the daemon counts it
 * as a client (the `status` that asks is the other one).
 */
export async function followLogs(daemon: TestDaemon, target: string): Promise<LogFollower> {
  const child = spawn(process.execPath, [BIN, 'logs', target, '-f', '--home', daemon.home], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    out += text;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let subscribed = false;
  for (let i = 0; i < 100 && !subscribed; i++) {
    const status = await runCli(['status', '--json', '--home', daemon.home]);
    subscribed = (JSON.parse(status.stdout) as { connections: number }).connections >= 2;
  }
  if (!subscribed) throw new Error('`logs -f` did not connect to the daemon');
  return {
    output: () => out,
    running: () => child.exitCode === null && child.signalCode === null,
    interrupt: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}
