/**
 * Feeds a recipe archive to a node-tar parser (a `Parser` that only reads, or an `Unpack` that
 * writes), with every inflated byte counted and bounded:
 *
 *   file ─▶ gunzip (when it starts as gzip; zlib works off the event loop)
 *        ─▶ count every inflated byte: past maxBytes ─▶ UNSAFE_ARCHIVE naming the bound
 *        ─▶ the first block must be a tar header (no gzip in a gzip, no other compression)
 *        ─▶ parser, one chunk at a time, waiting for it to drain ── until its end-of-archive
 *        └▶ after the end of the archive: counted, then dropped (never handed to the parser,
 *           which would keep concatenating it into one ever larger buffer)
 *
 * node-tar's own guard only caps the compression ratio (1000:1) and, once it has seen the end of
 * the archive, buffers whatever follows; so the decompression is done here, where it can be bounded.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Header, type Parser } from 'tar';
import { PodkeeperError } from '../errors.js';
import { formatBytes } from './download.js';

const BLOCK = 512;

/**
 * Pipes `file`, inflated, into `parser` and ends it; resolves with the inflated size once the parser
 * has closed. Rejects with the parser's error, or `UNSAFE_ARCHIVE` past `maxBytes` or when the
 * content is not a tar archive.
 */
export async function feedTar(file: string, parser: Parser, maxBytes: number): Promise<number> {
  // A parser that fails (a refused member, a full disk) stops the reading at once.
  const stop = new AbortController();
  const parserDone = new Promise<void>((resolve, reject) => {
    parser.once('close', resolve).once('error', (error: Error) => {
      stop.abort(error);
      reject(error);
    });
  });
  parserDone.catch(() => undefined);
  const sink = new TarSink(file, parser, maxBytes);
  const inflate = (await startsAsGzip(file)) ? createGunzip() : new PassThrough();
  try {
    await pipeline(createReadStream(file), inflate, sink, { signal: stop.signal });
  } catch (error) {
    throw stop.signal.aborted ? stop.signal.reason : error;
  }
  parser.end();
  await parserDone;
  return sink.bytes;
}

/** Counts, checks the first block, and writes into the parser with its back-pressure. */
class TarSink extends Writable {
  bytes = 0;
  readonly #file: string;
  readonly #parser: Parser;
  readonly #maxBytes: number;
  #head: Buffer | undefined = Buffer.alloc(0);
  #archiveEnded = false;

  constructor(file: string, parser: Parser, maxBytes: number) {
    super();
    this.#file = file;
    this.#parser = parser;
    this.#maxBytes = maxBytes;
    parser.once('eof', () => {
      this.#archiveEnded = true;
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#maxBytes) {
      callback(
        unsafeArchive(
          this.#file,
          `it inflates to more than ${formatBytes(this.#maxBytes)} (the recipe size bound)`,
          { bound: this.#maxBytes },
        ),
      );
      return;
    }
    if (this.#head !== undefined) {
      // Hold the bytes until the first block is whole, then check it is a tar header.
      this.#head = Buffer.concat([this.#head, chunk]);
      if (this.#head.length < BLOCK) {
        callback();
        return;
      }
      chunk = this.#head;
      this.#head = undefined;
      if (!isTarHeader(chunk)) {
        callback(unsafeArchive(this.#file, 'it is not a tar archive (nor a gzip of one)', {}));
        return;
      }
    }
    this.#feed(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const short = this.#head !== undefined && this.#head.length > 0;
    callback(short ? unsafeArchive(this.#file, 'it is not a tar archive (nor a gzip of one)', {}) : null);
  }

  #feed(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#archiveEnded || this.#parser.write(chunk)) {
      callback();
      return;
    }
    // Wait for the parser (an entry being written, or a queue of events) before the next chunk.
    const parser = this.#parser;
    const settle = () => {
      parser.off('drain', settle).off('eof', settle).off('close', settle).off('error', settle);
      callback();
    };
    parser.on('drain', settle).on('eof', settle).on('close', settle).on('error', settle);
  }
}

async function startsAsGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function isTarHeader(block: Buffer): boolean {
  try {
    const header = new Header(block.subarray(0, BLOCK));
    return header.cksumValid && !header.nullBlock;
  } catch {
    return false;
  }
}

function unsafeArchive(file: string, why: string, details: Record<string, unknown>): PodkeeperError {
  return new PodkeeperError('UNSAFE_ARCHIVE', `Refused to unpack "${file}": ${why}.`, {
    details: { archive: file, ...details },
  });
}
