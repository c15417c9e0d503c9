/**
 * The daemon: one PodManager served to control clients over a Unix socket and/or the daemon's own
 * stdio, until it is told to stop.
 *
 *   socket clients ──┐
 *                    ├─▶ ControlConnection ─▶ handlers ─▶ PodManager ─▶ pods
 *   stdio host ──────┘
 *
 * Shutdown (SIGTERM, SIGINT, `shutdown`, or the stdio host closing stdin): stop accepting and remove
 * the socket, answer new requests `SHUTTING_DOWN`, end streams, give calls in flight `shutdownGrace`
 * seconds, stop every pod tree, flush the answers, close the connections.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { ControlConnection } from '../control/connection.js';
import type { DaemonFacts, DaemonServices } from '../control/context.js';
import { LogStore } from '../control/log-store.js';
import { OutboundBudget } from '../control/outbound-budget.js';
import { ControlSocketServer } from '../control/socket-server.js';
import { PodkeeperError } from '../errors.js';
import type { HttpListener } from '../http/server.js';
import { defaultIndexLocation } from '../install/options.js';
import type { Installer } from '../install/types.js';
import type { PodManager } from '../manager/pod-manager.js';
import { PACKAGE_ROOT } from '../paths.js';
import { wait } from '../process/group.js';
import { CONTROL_PROTOCOL_VERSION } from '../protocol/control.js';
import type { DaemonConfig } from './config.js';

export interface DaemonOptions {
  config: DaemonConfig;
  manager: PodManager;
  installer: Installer;
  logger: Logger;
  /** Serve the control protocol on these streams (the `--stdio` host). */
  stdio?: { input: Readable; output: Writable };
  /** Listen on `config.socket`. @default true unless `stdio` is given */
  listen?: boolean;
}

const VERSION: string = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

export class Daemon implements DaemonServices {
  readonly manager: PodManager;
  readonly installer: Installer;
  readonly logs = new LogStore();
  /** Settles once the daemon has stopped completely. */
  readonly stopped: Promise<void>;
  readonly #config: DaemonConfig;
  readonly #log: Logger;
  readonly #options: DaemonOptions;
  readonly #connections = new Set<ControlConnection>();
  readonly #outbound: OutboundBudget;
  readonly #startedAt = Date.now();
  #server: ControlSocketServer | undefined;
  #http: HttpListener | undefined;
  #clients = 0;
  #stopping: Promise<void> | undefined;
  #force: (() => void) | undefined;
  #markStopped!: () => void;
  #disposeEvents: (() => void) | undefined;

  constructor(options: DaemonOptions) {
    this.#options = options;
    this.#config = options.config;
    this.manager = options.manager;
    this.installer = options.installer;
    this.#log = options.logger.child({ component: 'daemon' });
    this.#outbound = new OutboundBudget(this.#config.maxClientBufferTotalMB * 1024 * 1024);
    this.stopped = new Promise((resolve) => {
      this.#markStopped = resolve;
    });
  }

  /** Binds the socket (unless stdio only) and starts serving. */
  async start(): Promise<void> {
    this.#disposeEvents = this.manager.events.on('event', (event) => this.logs.record(event));
    const listen = this.#options.listen ?? this.#options.stdio === undefined;
    if (listen) {
      this.#server = new ControlSocketServer({
        path: this.#config.socket,
        onConnection: (socket) => {
          this.#clients += 1;
          this.#serve(socket, socket, `client ${this.#clients}`);
        },
      });
      await this.#server.listen();
      this.#log.info({ socket: this.#config.socket, home: this.#config.home }, 'daemon listening');
    }
    const http = this.#config.httpListener;
    if (http) {
      // The status page and its metrics (prom-client) load only when it is asked for.
      const { HttpListener } = await import('../http/server.js');
      this.#http = new HttpListener({
        services: this,
        address: http.address,
        token: http.token,
        allowRemote: this.#config.httpAllowRemote === true,
        indexLocation: defaultIndexLocation(),
        logger: this.#log,
      });
      try {
        const url = await this.#http.listen();
        this.#log.info({ url }, 'status page listening');
      } catch (error) {
        this.#server?.stopAccepting();
        throw new PodkeeperError(
          'INVALID_OPTION',
          `Cannot serve the status page on ${http.address.host}:${http.address.port}: ${(error as Error).message}`,
          { cause: error, details: { field: 'http' } },
        );
      }
    }
    const stdio = this.#options.stdio;
    if (stdio) {
      const host = this.#serve(stdio.input, stdio.output, 'stdio');
      host.onInputEnd = () => void this.shutdown('the stdio host closed stdin');
      this.#log.info({ home: this.#config.home }, 'daemon serving its stdio');
    }
  }

  /** Graceful stop; a second call while stopping skips what is left of the grace. */
  shutdown(reason: string): Promise<void> {
    if (this.#stopping) {
      this.#force?.();
      return this.#stopping;
    }
    this.#stopping = this.#shutdown(reason)
      .catch((error: unknown) => this.#log.error({ err: error }, 'shutdown failed'))
      .finally(() => this.#markStopped());
    return this.#stopping;
  }

  // ---------------------------------------------------------------- DaemonServices

  describe(): DaemonFacts {
    return {
      version: VERSION,
      protocol: CONTROL_PROTOCOL_VERSION,
      pid: process.pid,
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 100) / 10,
      home: this.#config.home,
      socket: this.#server ? this.#config.socket : null,
      stdio: this.#options.stdio !== undefined,
      python: this.manager.options.python,
      connections: this.#connections.size,
      http: this.#http?.url ?? null,
      clientBufferedBytes: this.#outbound.bufferedBytes,
    };
  }

  requestShutdown(reason: string): void {
    // After the current answer is on its way.
    setImmediate(() => void this.shutdown(reason));
  }

  // ---------------------------------------------------------------- internals

  #serve(input: Readable, output: Writable, name: string): ControlConnection {
    const connection = new ControlConnection(input, output, this, {
      name,
      maxLineLength: this.manager.options.maxLineLength,
      maxBufferBytes: this.#config.maxClientBufferMB * 1024 * 1024,
      budget: this.#outbound,
      logger: this.#log,
    });
    this.#connections.add(connection);
    this.#log.debug({ connection: name }, 'client connected');
    void connection.closed.then(() => {
      this.#connections.delete(connection);
      this.#log.debug({ connection: name }, 'client left');
    });
    if (this.#stopping) connection.destroy();
    return connection;
  }

  async #shutdown(reason: string): Promise<void> {
    const graceMs = this.#config.shutdownGrace * 1000;
    this.#log.info({ reason, graceSeconds: this.#config.shutdownGrace }, 'daemon stopping');
    this.#server?.stopAccepting();
    const httpClosed = this.#http?.close();
    const refusal = new PodkeeperError(
      'SHUTTING_DOWN',
      'The daemon is shutting down and takes no new requests. Start it again with `podkeeper daemon`.',
    );
    const connections = [...this.#connections];
    const callsDone = Promise.all(connections.map((connection) => connection.refuseNew(refusal)));
    const forced = Promise.withResolvers<void>();
    this.#force = forced.resolve;
    await wait(graceMs, Promise.race([callsDone, forced.promise]));
    const busy = connections.reduce((sum, connection) => sum + connection.calls, 0);
    if (busy > 0) this.#log.warn({ calls: busy }, 'grace over: stopping pods under calls still in flight');
    await this.manager.close();
    // Calls that were waiting on a pod have been answered by now; write those answers and hang up.
    await Promise.all([...this.#connections].map((connection) => connection.end()));
    this.#server?.removeSocket();
    await httpClosed;
    this.#disposeEvents?.();
    this.#log.info('daemon stopped');
  }
}
