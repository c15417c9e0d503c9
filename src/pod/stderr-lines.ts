/** A pod's stderr read as lines, for its log. */
import type { Readable } from 'node:stream';
import { LineFramer } from '../transport/line-framer.js';

/** Longest stderr line kept whole; a longer one is logged as its first 4 KiB and its size. */
const STDERR_LINE_BYTES = 64 * 1024;

/**
 * Calls `onLine` with each line of `stream` as it arrives, and with the last unterminated one at its
 * end. Linear framing with a bound: a progress bar that never writes '\n' cannot grow the daemon.
 */
export function readStderrLines(stream: Readable, onLine: (line: string) => void): void {
  const framer = new LineFramer(STDERR_LINE_BYTES, {
    onLine: (line) => onLine(line.whole().toString('utf8')),
    onTooLong: (head, size) => onLine(`${head.toString('utf8')}… (${size} bytes, cut)`),
  });
  stream
    .on('data', (chunk: Buffer | string) =>
      framer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk),
    )
    .on('end', () => framer.end());
}
