/**
 * A pod forked from a zygote, as the daemon holds it (pods/podkeeper_pod/zygote.py, prefork.py): no
 * process of the daemon's own, but three connections to the zygote's socket that its spare pod
 * accepted ahead of need, and the pid of that spare's guardian, which it said when it accepted them.
 * Taking it is one frame on a connection that is already open: a cold start waits on no connect,
 * and a spare held here serves its pod even when the zygote died meanwhile.
 *
 *   control ── "c" nonce ─▶ guardian ── ["spare", pid] ─▶ ready; take(): ["go", environ, cwd] ─▶
 *              ◀── ["forked", pid], then ["exited", code, signal] ─▶ `exited`
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

/** Where a spare is: connecting, held (its guardian's pid known), taken by a pod, or gone (`why`). */
type SpareState =
  | { kind: 'connecting' }
  | { kind: 'ready'; pid: number }
  | { kind: 'taken' }
  | { kind: 'gone'; why: string };

export class ForkedSpare {
  readonly #control: Socket;
  readonly #stdio: Socket;
  readonly #stderr: Socket;
  #state: SpareState = { kind: 'connecting' };
  /** Told once when the spare is ready or gone before it was taken. */
  readonly #onChange: (spare: ForkedSpare) => void;
  /** The taken pod's handlers of control's frames and end. */
  #onFrame: ((message: unknown[]) => void) | undefined;
  #onClose: ((connected: boolean, error: Error | undefined) => void) | undefined;

  /** Connects to the zygote's `socket`; `onChange` hears when it is ready, or gone before it was taken. */
  constructor(socket: string, onChange: (spare: ForkedSpare) => void) {
    this.#onChange = onChange;
    const nonce = randomBytes(8);
    const open = (role: string): Socket => {
      const connection = createConnection({ path: socket });
      connection.on('error', () => undefined); // it closes next: its end says what happened
      connection.write(Buffer.concat([Buffer.from(role), nonce]));
      return connection;
    };
    this.#control = open('c');
    this.#stdio = open('o');
    this.#stderr = open('e');
    let connected = false;
    let lastError: Error | undefined;
    this.#control.once('connect', () => {
      connected = true;
    });
    this.#control.on('error', (error) => {
      lastError = error;
    });
    readFrames(this.#control, (message) => {
      if (this.#onFrame) return this.#onFrame(message);
      const [kind, first, second] = message;
      if (kind === 'spare' && typeof first === 'number' && this.#state.kind === 'connecting')
        this.#settle({ kind: 'ready', pid: first });
      else if (kind === 'refused') this.#settle({ kind: 'gone', why: `${first}: ${second}` }, true);
      else this.#settle({ kind: 'gone', why: `it said ${JSON.stringify(message).slice(0, 200)}` }, true);
    });
    this.#control.once('close', () => {
      if (this.#onClose) return this.#onClose(connected, lastError);
      const why = connected ? 'its spare pod ended' : `cannot reach it: ${lastError?.message ?? 'closed'}`;
      this.#settle({ kind: 'gone', why: `ZYGOTE_BROKEN: ${why}` }, true);
    });
  }

  /** The spare's guardian, once it accepted the connections (it counts in the memory budget). */
  get pid(): number | undefined {
    return this.#state.kind === 'ready' ? this.#state.pid : undefined;
  }

  get ready(): boolean {
    return this.#state.kind === 'ready';
  }

  /** Why it is gone (`CODE: reason`), when it went before it was taken. */
  get why(): string | undefined {
    return this.#state.kind === 'gone' ? this.#state.why : undefined;
  }

  /** Closes the connections: a spare not taken ends, and its runner. */
  discard(): void {
    if (this.#state.kind === 'taken') return;
    this.#state = { kind: 'gone', why: 'discarded' };
    for (const connection of [this.#control, this.#stdio, this.#stderr]) connection.destroy();
  }

  /** The pod, started with `env` in `cwd`: the spare must be ready. */
  take(env: Record<string, string | undefined>, cwd: string): PodProcess {
    if (this.#state.kind !== 'ready')
      throw new TypeError(`ForkedSpare.take: the spare is ${this.#state.kind}`);
    let guardian = this.#state.pid;
    this.#state = { kind: 'taken' };
    const control = this.#control;
    const environ = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
    control.write(frame(['go', environ, cwd]));
    let settled = false;
    const exited = new Promise<ProcessExit>((resolve) => {
      const settle = (exit: ProcessExit) => {
        if (settled) return;
        settled = true;
        control.destroy();
        resolve(exit);
      };
      this.#onFrame = (message) => {
        const [kind, first, second] = message;
        if (kind === 'forked' && typeof first === 'number') guardian = first;
        else if (kind === 'exited') settle({ exitCode: numberOrNull(first), signal: signalName(second) });
        else if (kind === 'refused')
          settle(spawnFailed(`the zygote's spare pod refused the pod: ${first}: ${second}`));
        else settle(spawnFailed(`the zygote's spare pod said ${JSON.stringify(message).slice(0, 200)}`));
      };
      this.#onClose = () => settle({ exitCode: null, signal: 'SIGKILL' }); // killed before it could say
      if (control.closed) this.#onClose(true, undefined);
    });
    return {
      get pid() {
        return guardian;
      },
      stdin: this.#stdio,
      stdout: this.#stdio,
      stderr: this.#stderr,
      exited,
      where: { launcher: 'local', locality: 'local' },
      forked: true,
      signal: (signal) => {
        if (settled) return false;
        return signal === 'SIGUSR1' ? send(guardian, signal) : killGroup(guardian, signal);
      },
    };
  }

  #settle(state: SpareState, destroy = false): void {
    if (this.#state.kind !== 'connecting' && this.#state.kind !== 'ready') return;
    this.#state = state;
    if (destroy) for (const connection of [this.#control, this.#stdio, this.#stderr]) connection.destroy();
    this.#onChange(this);
  }
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
