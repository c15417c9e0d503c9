/**
 * The optional HTTP listener (`--http HOST:PORT`): the status page, its JSON API and `/metrics`.
 * Read-only: it serves what the manager and the daemon already report and changes nothing.
 *
 *   browser ──GET──▶ guard (Host header, token) ──▶ route ──▶ snapshot / logs / metrics / page files
 *
 * With a token, every route needs it (`Authorization: Bearer …`, or the cookie `/?token=…` sets).
 * Without `httpAllowRemote`, a request whose Host is not a loopback name is refused (DNS rebinding).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { DaemonServices } from '../control/context.js';
import type { Disposer } from '../events.js';
import { type HttpAddress, isLoopback, urlOf } from './address.js';
import { History } from './history.js';
import { Metrics } from './metrics.js';
import { overview, podsView, recipesView } from './snapshot.js';

export interface HttpListenerOptions {
  services: DaemonServices;
  address: HttpAddress;
  /** Required on every route when set. */
  token?: string;
  /** A non-loopback bind: the Host header is not checked (the token guards it). */
  allowRemote?: boolean;
  /** The recipe index whose entries the page lists as installable. */
  indexLocation: string;
  logger: Logger;
  /** How often memory is sampled for the chart, ms. @default 2000 */
  sampleMs?: number;
}

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const COOKIE = 'podkeeper_token';
const MAX_LOG_LINES = 2000;

export class HttpListener {
  readonly history = new History();
  readonly metrics: Metrics;
  readonly #options: HttpListenerOptions;
  readonly #server: Server;
  readonly #log: Logger;
  readonly #page = new Map<string, Buffer>();
  readonly #tokenDigest: Buffer | undefined;
  #dispose: Disposer | undefined;
  #sampler: NodeJS.Timeout | undefined;

  constructor(options: HttpListenerOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'http' });
    this.metrics = new Metrics(options.services.manager);
    this.#tokenDigest = options.token === undefined ? undefined : digest(options.token);
    const dir = new URL('./page/', import.meta.url);
    for (const { file } of Object.values(PAGE_FILES)) this.#page.set(file, readFileSync(new URL(file, dir)));
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        this.#log.error({ err: error, url: request.url }, 'http request failed');
        sendError(response, 500, 'INTERNAL_ERROR', (error as Error).message);
      });
    });
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
  }

  /** Binds; resolves with the URL of the page (the real port when 0 was asked for). */
  async listen(): Promise<string> {
    const { manager } = this.#options.services;
    this.#dispose = manager.events.on('event', (event) => this.history.record(event));
    const sample = () =>
      void manager.memory().then(
        (memory) => this.history.sample(memory),
        () => undefined,
      );
    sample();
    this.#sampler = setInterval(sample, this.#options.sampleMs ?? 2000).unref();
    const { host, port } = this.#options.address;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.url;
  }

  get url(): string {
    const bound = this.#server.address() as AddressInfo | null;
    return urlOf(this.#options.address.host, bound?.port ?? this.#options.address.port);
  }

  async close(): Promise<void> {
    clearInterval(this.#sampler);
    this.#dispose?.();
    this.metrics.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('X-Frame-Options', 'DENY');
    response.setHeader('Referrer-Policy', 'no-referrer');
    if (!this.#options.allowRemote && !loopbackHost(request.headers.host)) {
      sendError(
        response,
        421,
        'BAD_REQUEST',
        `Host ${JSON.stringify(request.headers.host ?? '')} is not this listener's: open ${this.url}`,
      );
      return;
    }
    const url = new URL(request.url ?? '/', 'http://podkeeper.invalid');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendError(
        response,
        405,
        'BAD_REQUEST',
        `${request.method} is not served here: the listener is read-only.`,
      );
      return;
    }
    if (this.#tokenDigest !== undefined && !this.#authorized(request, url, response)) return;
    const page = PAGE_FILES[url.pathname];
    if (page) {
      response.setHeader(
        'Content-Security-Policy',
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
      );
      response.writeHead(200, { 'Content-Type': page.type });
      response.end(this.#page.get(page.file));
      return;
    }
    const body = await this.#route(url);
    if (body === undefined) {
      sendError(response, 404, 'UNKNOWN_ACTION', `No route ${url.pathname}. Routes: ${ROUTES.join(', ')}.`);
    } else if (typeof body === 'string') {
      response.writeHead(200, { 'Content-Type': this.metrics.registry.contentType });
      response.end(body);
    } else {
      sendJson(response, 200, body);
    }
  }

  /** The body of a data route: JSON, or the metrics text; undefined when there is no such route. */
  async #route(url: URL): Promise<unknown> {
    const { services, indexLocation } = this.#options;
    switch (url.pathname) {
      case '/metrics':
        return (await this.metrics.expose()).text;
      case '/api/overview':
        return overview(services, this.history);
      case '/api/status': {
        const memory = await services.manager.memory();
        return { ...services.describe(), memory, fatal: services.manager.fatalRecipes() };
      }
      case '/api/pods':
        return { pods: await podsView(services, this.history) };
      case '/api/memory':
        return { samples: this.history.memory.list() };
      case '/api/events':
        return { events: this.history.events(clamp(url.searchParams.get('limit'), 50, 200)) };
      case '/api/recipes':
        return recipesView(services, indexLocation);
      case '/api/logs': {
        const recipe = url.searchParams.get('recipe') ?? undefined;
        const podId = url.searchParams.get('podId') ?? undefined;
        const after = Number(url.searchParams.get('after') ?? 0) || 0;
        const lines = services.logs
          .tail(clamp(url.searchParams.get('lines'), 200, MAX_LOG_LINES), { recipe, podId })
          .filter((line) => line.time > after);
        return { lines };
      }
      default:
        return undefined;
    }
  }

  #authorized(request: IncomingMessage, url: URL, response: ServerResponse): boolean {
    const offered = url.searchParams.get('token');
    if (url.pathname === '/' && offered !== null && this.#matches(offered)) {
      // Trade the token in the address for a cookie, and drop it from the address bar.
      response.writeHead(303, {
        'Set-Cookie': `${COOKIE}=${encodeURIComponent(offered)}; HttpOnly; SameSite=Strict; Path=/`,
        Location: '/',
      });
      response.end();
      return false;
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const cookie = cookieValue(request.headers.cookie, COOKIE);
    if ((bearer !== undefined && this.#matches(bearer)) || (cookie !== undefined && this.#matches(cookie)))
      return true;
    response.setHeader('WWW-Authenticate', 'Bearer realm="podkeeper"');
    sendError(
      response,
      401,
      'UNAUTHORIZED',
      'This listener needs its token: send `Authorization: Bearer <PODKEEPER_HTTP_TOKEN>`, or open /?token=<token> once in a browser.',
    );
    return false;
  }

  #matches(token: string): boolean {
    return this.#tokenDigest !== undefined && timingSafeEqual(digest(token), this.#tokenDigest);
  }
}

const ROUTES = [
  '/',
  '/api/overview',
  '/api/status',
  '/api/pods',
  '/api/memory',
  '/api/events',
  '/api/recipes',
  '/api/logs',
  '/metrics',
];

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The hostname of a Host header is a loopback name or address (any port). */
function loopbackHost(header: string | undefined): boolean {
  if (!header) return false;
  const host = header.startsWith('[')
    ? header.slice(0, header.indexOf(']') + 1)
    : header.replace(/:\d*$/, '');
  return isLoopback(host);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

function clamp(raw: string | null, fallback: number, max: number): number {
  const value = Math.floor(Number(raw));
  return raw === null || !Number.isFinite(value) || value < 1 ? fallback : Math.min(value, max);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, status, { error: { code, message } });
}
