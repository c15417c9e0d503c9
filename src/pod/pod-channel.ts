/** The JSON-lines channel on a pod's stdio, as every pod has it, and where its lines go. */
import type { Readable, Writable } from 'node:stream';
import { foreignProtocol } from '../protocol/pod.js';
import { JsonLinesChannel } from '../transport/json-lines.js';
import { LineRouter, type LineRoutes } from './line-router.js';

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

/**
 * Every line of the channel to the router, but a `ready` naming another protocol version while the
 * pod starts: that runner can never serve us, so `onForeignReady` ends it now.
 */
export function routePodLines(
  channel: JsonLinesChannel,
  routes: LineRoutes & { starting(): boolean; onForeignReady(version: unknown): void },
): void {
  const router = new LineRouter(routes);
  channel.onMessage((value) => {
    const theirs = routes.starting() ? foreignProtocol(value) : undefined;
    if (theirs === undefined) router.line(value);
    else routes.onForeignReady(theirs);
  });
  channel.onInvalid((bad) => router.invalid(bad));
}
