/**
 * Big payloads on one client connection: three 16 MiB JSON calls at once all come back whole, and
 * the connection goes on serving. With the old re-splitting line framer the client library read so
 * slowly that the daemon dropped it as a client that "does not read" (CHANNEL_CLOSED).
 * The time they take is a figure of `npm run bench:payload`, not an assertion here.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/index.js';
import { startDaemon } from './daemon-helpers.js';
import { onCleanup } from './helpers.js';

const MIB = 1024 * 1024;

/** About `bytes` of JSON: many small objects, as a real result would be; `tag` tells them apart. */
function payload(bytes: number, tag: number) {
  const item = { token: 'abcdefgh', score: 0.125, n: tag };
  return Array.from({ length: Math.ceil(bytes / (JSON.stringify(item).length + 1)) }, () => ({ ...item }));
}

describe('big calls through the daemon', () => {
  it('answers three concurrent 16 MiB calls on one connection, each with its own payload', async () => {
    const daemon = await startDaemon();
    const client = await connect({ home: daemon.home });
    onCleanup(() => client.close());
    const inputs = [1, 2, 3].map((tag) => payload(16 * MIB, tag));
    expect(JSON.stringify(inputs[0]).length).toBeGreaterThanOrEqual(16 * MIB);

    const results = await Promise.all(inputs.map((input) => client.call('echo', input)));

    results.forEach((result, i) => {
      expect(JSON.stringify(result)).toBe(JSON.stringify(inputs[i]));
    });
    expect(await client.status()).toMatchObject({ connections: 1 });
    expect(daemon.child.exitCode).toBeNull();
  }, 180_000);
});
