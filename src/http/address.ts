/**
 * Where the optional HTTP listener binds, and who may reach it. Off unless asked for; a loopback
 * address by default. Anything else needs `--http-allow-remote` *and* a token, or it is refused.
 */
import { isIP } from 'node:net';
import { PodkeeperError } from '../errors.js';

export interface HttpAddress {
  host: string;
  port: number;
}

/** Settings the daemon's configuration hands over (already merged from flags, env, config.json). */
export interface HttpSettings {
  /** `HOST:PORT` (`[::1]:PORT` for IPv6). */
  http: string;
  allowRemote: boolean;
  token: string | undefined;
  /** Where `http` came from, for the error message. */
  source: string;
}

/** Shortest token accepted: a guessable token is no protection. */
const MIN_TOKEN_LENGTH = 16;

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.']);

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (LOOPBACK_NAMES.has(bare)) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

/** Parses `HOST:PORT`; INVALID_OPTION naming the source when it is not one. */
function parseHttpAddress(text: string, source: string): HttpAddress {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535) {
    throw new PodkeeperError(
      'INVALID_OPTION',
      `Invalid configuration: \`http\` (from ${source}) must be HOST:PORT, e.g. 127.0.0.1:7878 (port 0 picks a free one), got ${JSON.stringify(text)}.`,
      { details: { field: 'http', source, received: text } },
    );
  }
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

/** Checks the whole HTTP setting: address, loopback or explicitly remote with a token. */
export function checkHttpSettings(settings: HttpSettings): HttpAddress {
  const address = parseHttpAddress(settings.http, settings.source);
  const { token } = settings;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new PodkeeperError(
      'INVALID_OPTION',
      `Invalid configuration: PODKEEPER_HTTP_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 24\`).`,
      { details: { field: 'httpToken', source: 'env PODKEEPER_HTTP_TOKEN' } },
    );
  }
  if (isLoopback(address.host)) return address;
  if (!settings.allowRemote || token === undefined) {
    const missing = !settings.allowRemote
      ? '--http-allow-remote (or `httpAllowRemote: true` in config.json)'
      : 'a token in PODKEEPER_HTTP_TOKEN';
    throw new PodkeeperError(
      'INVALID_OPTION',
      `Refusing to serve the status page on ${address.host}, which is not a loopback address: ` +
        `that needs ${missing}. Use 127.0.0.1:${address.port} to keep it on this machine.`,
      { details: { field: 'http', source: settings.source, received: settings.http } },
    );
  }
  return address;
}

/** The URL a person would open for an address (a wildcard bind is shown as loopback). */
export function urlOf(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(shown) === 6 ? `[${shown}]` : shown}:${port}/`;
}
