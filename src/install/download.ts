/**
 * HTTP(S) downloads to a file, in the manner of Ollama's pulls: a bounded size, a stall timeout,
 * retries with backoff on network errors, 5xx and 429, and a cut-off transfer resumed with a `Range`
 * request when the server allows it (else restarted). Progress is reported as bytes received.
 *
 *   attempt ─ GET (Range: bytes=<have>-) ─ 206: append │ 200: rewrite ─ stream to file ─ short? ─▶ retry
 *                                      └ 4xx: fail at once      └ over maxBytes: fail at once
 */
import { open, stat, truncate } from 'node:fs/promises';
import { type ErrorCode, PodkeeperError } from '../errors.js';
import { wait } from '../process/group.js';
import { redactUrl } from '../redact.js';

export interface DownloadOptions {
  /** A body larger than this fails with `tooLargeCode`. */
  maxBytes: number;
  /** @default "INSTALL_FAILED" */
  tooLargeCode?: ErrorCode;
  /** Attempts in all. @default 4 */
  attempts?: number;
  /** Delay before the first retry, doubled for each next one. @default 500 */
  backoffMs?: number;
  /** An attempt that receives nothing for this long is abandoned (and retried). @default 30 000 */
  stallMs?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Bytes in the file so far and the expected total, when the server said. */
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface DownloadResult {
  bytes: number;
  attempts: number;
  /** Attempts that went on from a partial file rather than from zero. */
  resumed: number;
}

/** A failure worth another attempt. */
class Retryable extends Error {}

/** Downloads `url` into `file` (created or replaced). */
export async function download(url: string, file: string, options: DownloadOptions): Promise<DownloadResult> {
  const attempts = options.attempts ?? 4;
  const shown = redactUrl(url);
  let resumed = 0;
  await truncate(file, 0).catch(() => undefined);
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const outcome = await fetchOnce(url, file, options);
      if (outcome.resumed) resumed += 1;
      return { bytes: outcome.bytes, attempts: attempt, resumed };
    } catch (error) {
      if (options.signal?.aborted) throw cancelled(shown);
      if (!(error instanceof Retryable)) throw error;
      if (attempt >= attempts) {
        throw new PodkeeperError(
          'INSTALL_FAILED',
          `Download of ${shown} failed after ${attempt} attempts: ${error.message}. Check the URL and the network, then try again.`,
          { details: { url: shown, attempts: attempt } },
        );
      }
      await wait((options.backoffMs ?? 500) * 2 ** (attempt - 1));
    }
  }
}

async function fetchOnce(
  url: string,
  file: string,
  options: DownloadOptions,
): Promise<{ bytes: number; resumed: boolean }> {
  const shown = redactUrl(url);
  const have = await sizeOf(file);
  const stall = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  const stallMs = options.stallMs ?? 30_000;
  const timer = setTimeout(() => stall.abort(), stallMs);
  const touch = () => timer.refresh();
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        signal,
        redirect: 'follow',
        headers: { ...options.headers, ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
      });
    } catch (error) {
      throw new Retryable(stall.signal.aborted ? `no answer within ${stallMs / 1000} s` : describe(error));
    }
    if (response.status === 416 && have > 0) {
      await response.body?.cancel();
      await truncate(file, 0);
      throw new Retryable('the server refused to resume; starting over');
    }
    if (!response.ok) {
      await response.body?.cancel();
      const message = `HTTP ${response.status} ${response.statusText}`.trim();
      if (response.status >= 500 || response.status === 429 || response.status === 408)
        throw new Retryable(message);
      throw new PodkeeperError('INSTALL_FAILED', `Download of ${shown} failed: ${message}.`, {
        details: { url: shown, status: response.status },
      });
    }
    const append = response.status === 206 && have > 0 && rangeStart(response) === have;
    const start = append ? have : 0;
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    const total = Number.isFinite(length) ? start + length : undefined;
    if (total !== undefined && total > options.maxBytes) {
      await response.body?.cancel();
      throw tooLarge(shown, total, options);
    }
    const handle = await open(file, append ? 'a' : 'w');
    let received = start;
    try {
      if (!response.body) throw new Retryable('the response has no body');
      const reader = response.body.getReader();
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw new Retryable(
            stall.signal.aborted
              ? `no data for ${stallMs / 1000} s after ${received} bytes`
              : `cut off after ${received}${total === undefined ? '' : ` of ${total}`} bytes (${describe(error)})`,
          );
        }
        if (chunk.done) break;
        touch();
        received += chunk.value.byteLength;
        if (received > options.maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge(shown, received, options);
        }
        await handle.write(chunk.value);
        options.onProgress?.(received, total);
      }
    } finally {
      await handle.close();
    }
    if (total !== undefined && received < total) {
      throw new Retryable(`cut off after ${received} of ${total} bytes`);
    }
    return { bytes: received, resumed: append };
  } finally {
    clearTimeout(timer);
  }
}

function rangeStart(response: Response): number | undefined {
  const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : undefined;
}

function tooLarge(shown: string, bytes: number, options: DownloadOptions): PodkeeperError {
  return new PodkeeperError(
    options.tooLargeCode ?? 'INSTALL_FAILED',
    `${shown} is larger than the ${formatBytes(options.maxBytes)} allowed (${formatBytes(bytes)} or more).`,
    { details: { url: shown, bytes, maxBytes: options.maxBytes } },
  );
}

function cancelled(shown: string): PodkeeperError {
  return new PodkeeperError('CANCELLED', `The download of ${shown} was cancelled.`, {
    details: { url: shown },
  });
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const base = error instanceof Error ? error.message : String(error);
  return cause instanceof Error ? `${base}: ${cause.message}` : base;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024 / 1024).toFixed(1)} GiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
