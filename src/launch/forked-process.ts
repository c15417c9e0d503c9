/**
 * A pod forked from a zygote, as the daemon holds it (pods/podkeeper_pod/zygote.py, prefork.py): no
 * process of the daemon's own, but three connections to the zygote's socket, which the zygote's
 * spare pod accepts, and the pid of that spare's guardian, which the zygote announced before the
 * pod was asked for (so this handle is complete at once, as a spawned child's is).
 *
 *   control ── "c" nonce, ["go", environ, cwd] ─▶ guardian ── ["forked", pid], later
 *                                                            ["exited", code, signal] ─▶ `exited`
 *   stdio   ── "o" nonce, then the pod protocol both ways (the runner's fds 0 and 1)
 *   stderr  ── "e" nonce ◀── the runner's and guardian's fd 2: the pod's log
 *
 * The guardian leads the pod's session and group, as a normal pod's does: SIGTERM and SIGKILL go to
 * its group, SIGUSR1 to it alone (it kills the tree, setsid() escapees included). Control closing
 * without an exit means the guardian was killed (the daemon's SIGKILL): the exit reads as that.
 * Should the daemon die, the kernel closes the connections and the guardian ends the tree.
 */
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { constants } from 'node:os';
import type { PodProcess, ProcessExit } from '../pod/spawn.js';
import { killGroup, send } from '../process/group.js';

/** Frames on control are small (an environment, an exit); anything bigger is a broken peer. */
const MAX_FRAME = 4 << 20;

export interface ForkedStart {
  /** The zygote's socket. */
  socket: string;
  /** The spare guardian the zygote announced: the pod's process group. */
  pid: number;
  env: Record<string, string | undefined>;
  cwd: string;
}

export function forkedPodProcess({ socket, pid, env, cwd }: ForkedStart): PodProcess {
  const nonce = randomBytes(8);
  const open = (role: string): Socket => {
    const connection = createConnection({ path: socket });
    connection.on('error', () => undefined); // it closes next: `exited` says what happened
    connection.write(Buffer.concat([Buffer.from(role), nonce]));
    return connection;
  };
  const control = open('c');
  const stdio = open('o');
  const stderr = open('e');
  const environ = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
  control.write(frame(['go', environ, cwd]));

  let guardian = pid;
  let settled = false;
  let connected = false;
  let lastError: Error | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    const settle = (exit: ProcessExit) => {
      if (settled) return;
      settled = true;
      control.destroy();
      resolve(exit);
    };
    control.once('connect', () => {
      connected = true;
    });
    control.on('error', (error) => {
      lastError = error;
    });
    readFrames(control, (message) => {
      const [kind, first, second] = message;
      if (kind === 'forked' && typeof first === 'number') guardian = first;
      else if (kind === 'exited') settle({ exitCode: numberOrNull(first), signal: signalName(second) });
      else if (kind === 'refused') settle(spawnFailed(`the zygote refused the pod: ${first}: ${second}`));
      else settle(spawnFailed(`the zygote's pod said ${JSON.stringify(message).slice(0, 200)}`));
    });
    control.once('close', () => {
      if (connected)
        settle({ exitCode: null, signal: 'SIGKILL' }); // killed before it could say
      else settle(spawnFailed(`cannot reach the zygote at ${socket}: ${lastError?.message ?? 'closed'}`));
    });
  });
  return {
    get pid() {
      return guardian;
    },
    stdin: stdio,
    stdout: stdio,
    stderr,
    exited,
    where: { launcher: 'local', locality: 'local' },
    forked: true,
    signal: (signal) => {
      if (settled) return false;
      return signal === 'SIGUSR1' ? send(guardian, signal) : killGroup(guardian, signal);
    },
  };
}

function spawnFailed(message: string): ProcessExit {
  return { exitCode: null, signal: null, spawnError: new Error(message) };
}

/** A 4-byte little-endian length, then a JSON array (pods/podkeeper_pod/wire.py). */
export function frame(message: unknown[]): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length);
  return Buffer.concat([header, body]);
}

/** Calls `onMessage` with each frame's array; a frame that breaks the format ends the connection. */
export function readFrames(connection: Socket, onMessage: (message: unknown[]) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  connection.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const length = buffered.readUInt32LE(0);
      if (length > MAX_FRAME) return void connection.destroy(new Error(`a frame of ${length} bytes`));
      if (buffered.length < 4 + length) return;
      const body = buffered.subarray(4, 4 + length).toString('utf8');
      buffered = buffered.subarray(4 + length);
      let message: unknown;
      try {
        message = JSON.parse(body);
      } catch {
        message = undefined;
      }
      if (!Array.isArray(message))
        return void connection.destroy(new Error('a frame that is not a JSON array'));
      onMessage(message);
    }
  });
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

/** A signal number (the guardian's WTERMSIG) as Node names it. */
function signalName(value: unknown): NodeJS.Signals | null {
  if (typeof value !== 'number') return null;
  const found = Object.entries(constants.signals).find(([, number]) => number === value);
  return (found?.[0] as NodeJS.Signals | undefined) ?? null;
}
