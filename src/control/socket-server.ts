/**
 * The control socket: a Unix socket at a private path, bound with no window of wider permissions.
 *
 *   check path length ─▶ private dir (0700) ─▶ lock (socket-lock.ts) ─▶ path taken? ─ live daemon ─▶ DAEMON_ALREADY_RUNNING
 *                                                       │  stale (refused) ─▶ unlink
 *                                                       ▼
 *                                     bind under umask 0177 ─▶ verify 0600 ─▶ unlock ─▶ accept clients
 */
import { chmodSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { PodkeeperError } from '../errors.js';
import { checkSocketPath, prepareSocketDir } from '../location/socket-path.js';
import { lockSocket } from './socket-lock.js';

export interface SocketServerOptions {
  path: string;
  onConnection(socket: Socket): void;
}

export class ControlSocketServer {
  readonly path: string;
  readonly #server: Server;
  #inode: number | undefined;

  constructor(options: SocketServerOptions) {
    this.path = options.path;
    this.#server = createServer({ allowHalfOpen: false }, (socket) => options.onConnection(socket));
  }

  /** Binds the socket; `DAEMON_ALREADY_RUNNING` when a live daemon answers on the path. */
  async listen(): Promise<void> {
    checkSocketPath(this.path);
    prepareSocketDir(dirname(this.path));
    const release = await lockSocket(this.path);
    try {
      await this.#takeOverStale();
      await this.#bind();
    } finally {
      release();
    }
  }

  /** Stops accepting new clients and removes the socket file (connected clients stay). */
  stopAccepting(): void {
    if (!this.#server.listening) return;
    this.#server.close();
    this.removeSocket();
  }

  /** Removes the socket file, unless another daemon has replaced it meanwhile. */
  removeSocket(): void {
    try {
      if (this.#inode !== undefined && lstatSync(this.path).ino === this.#inode) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  async #takeOverStale(): Promise<void> {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(this.path);
    } catch {
      return; // nothing there
    }
    if (!stat.isSocket()) {
      throw new PodkeeperError(
        'INVALID_OPTION',
        `${this.path} exists and is not a socket; podkeeper will not replace it. Move it away or choose another --socket.`,
        { details: { field: 'socket', socket: this.path } },
      );
    }
    const probe = await probeSocket(this.path);
    if (probe === 'live') {
      throw new PodkeeperError(
        'DAEMON_ALREADY_RUNNING',
        `A podkeeper daemon is already running on ${this.path}. Stop it first with ` +
          `\`podkeeper shutdown --socket ${this.path}\`, or give this one another --home or --socket.`,
        { details: { socket: this.path } },
      );
    }
    try {
      unlinkSync(this.path); // stale: nobody accepts on it
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async #bind(): Promise<void> {
    const previous = process.umask(0o177);
    try {
      this.#server.listen(this.path); // binds synchronously: the file is born 0600
    } finally {
      process.umask(previous);
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        this.#server.off('listening', onListening);
        reject(
          error.code === 'EADDRINUSE'
            ? new PodkeeperError('DAEMON_ALREADY_RUNNING', `Another daemon bound ${this.path} first.`, {
                cause: error,
              })
            : error,
        );
      };
      const onListening = () => {
        this.#server.off('error', onError);
        resolve();
      };
      this.#server.once('error', onError).once('listening', onListening);
    });
    const stat = statSync(this.path);
    if ((stat.mode & 0o777) !== 0o600) chmodSync(this.path, 0o600);
    this.#inode = stat.ino;
  }
}

/** Whether a daemon accepts on `path` (`live`), or the socket is left over from a dead one (`stale`). */
function probeSocket(path: string): Promise<'live' | 'stale'> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const done = (result: 'live' | 'stale' | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    // A daemon too busy to accept within a second is still alive.
    const timer = setTimeout(() => done('live'), 1000);
    socket.once('connect', () => done('live'));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') done('stale');
      else
        done(
          new PodkeeperError('INVALID_OPTION', `Cannot check the socket ${path}: ${error.message}`, {
            cause: error,
            details: { field: 'socket', socket: path },
          }),
        );
    });
  });
}
