/** The JSON-lines channel on a pod's stdio, as every pod has it. */
import type { Readable, Writable } from 'node:stream';
import { JsonLinesChannel } from '../transport/json-lines.js';

export function podChannel(
  stdout: Readable,
  stdin: Writable,
  podId: string,
  maxLineLength: number,
): JsonLinesChannel {
  return new JsonLinesChannel(stdout, stdin, {
    maxLineLength,
    name: podId,
    // A big answer stays bytes until whoever asked wants its value (requests.ts): the daemon relays
    // it as it is. The runner writes `result` last (podkeeper_pod/protocol.py `success`), so it is
    // found from the line's head and tail, not scanned.
    rawPath: ['result'],
    rawLast: true,
  });
}
