/**
 * For the HTTP listener's tests: a real daemon started with `--http 127.0.0.1:0`, the URL it
 * reports in `status`, calls over its control socket, and a parser of the Prometheus text format.
 */
import { get } from 'node:http';
import {
  type RawConnection,
  rawConnect,
  type StartOptions,
  startDaemon,
  type TestDaemon,
} from './daemon-helpers.js';

export interface HttpDaemon {
  daemon: TestDaemon;
  client: RawConnection;
  /** The status page's URL, e.g. http://127.0.0.1:41234/ */
  url: string;
  /** Sends a control request and resolves with its final answer. */
  request(action: string, payload?: unknown): Promise<Record<string, unknown>>;
}

let nextId = 0;

export async function startHttpDaemon(options: StartOptions = {}): Promise<HttpDaemon> {
  const daemon = await startDaemon({ ...options, args: ['--http', '127.0.0.1:0', ...(options.args ?? [])] });
  const client = await rawConnect(daemon.socket);
  const request = async (action: string, payload: unknown = {}) => {
    nextId += 1;
    const id = `h${nextId}`;
    client.send({ id, action, payload });
    return client.answer(id, 30_000);
  };
  const status = await request('status');
  const url = (status['result'] as { http: string | null }).http;
  if (!url) throw new Error(`status reports no http URL: ${JSON.stringify(status)}`);
  return { daemon, client, url, request };
}

/** Polls an async check until it holds or `ms` pass. */
export async function eventuallyAsync(
  check: () => Promise<boolean>,
  ms = 10_000,
  step = 50,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, step));
  }
}

export async function getJson<T = Record<string, unknown>>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A GET through node:http, which (unlike fetch) sends the Host header it is given. */
export function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

/** One sample of the exposition format: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (v0.0.4): `# HELP`/`# TYPE` lines, and samples
 * `name{label="value",…} number`. Throws on a line that is neither, so a malformed output fails.
 */
export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const type = /^# TYPE (\w+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type?.[1] && type[2]) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!sample?.[1] || sample[3] === undefined)
      throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const pair of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1]) labels[pair[1]] = (pair[2] ?? '').replace(/\\(.)/g, '$1');
    }
    samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

/** The value of the one sample with this name and (at least) these labels; undefined when none. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
