/**
 * Installs under attack, through a real daemon: a gzip bomb is refused without freezing the daemon
 * (other clients are answered while it inflates).
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { gzipBomb, leftovers } from './install-helpers.js';

/** `status` answers that must arrive while the bomb inflates, before its refusal. */
const STATUS_ANSWERS = 5;

describe('installs under attack', () => {
  it('refuses a gzip bomb past the 1 GiB bound while answering `status` promptly', {
    timeout: 120_000,
  }, async () => {
    // 1.1 GiB of zeros after an honest recipe, about 5 MB on disk (level 1: under node-tar's ratio guard).
    const file = await gzipBomb('bomb', 1100 * 1024 * 1024);
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'bomb', action: 'recipes.install', payload: { source: file } });
    let refused = false;
    const answer = client.answer('bomb', 100_000).finally(() => {
      refused = true;
    });
    await client.waitFor((line) => line['event'] === 'install.progress' && line['step'] === 'unpack');

    const latencies: number[] = [];
    for (let n = 0; !refused; n++) {
      const started = performance.now();
      client.send({ id: `status-${n}`, action: 'status' });
      const status = await client.answer(`status-${n}`, 100_000);
      expect(status).toMatchObject({ success: true });
      latencies.push(performance.now() - started);
      // Paced, so that the probe measures the daemon rather than loads it.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await answer).toMatchObject({
      success: false,
      error: {
        code: 'UNSAFE_ARCHIVE',
        message: expect.stringMatching(/inflates to more than 1\.0 GiB \(the recipe size bound\)/),
      },
    });
    // The daemon kept answering while the bomb was inflating: several answers, one after another,
    // arrived before the refusal (before the fix the first one waited behind the whole parse).
    const refusal = client.received.findIndex((line) => line['id'] === 'bomb' && 'success' in line);
    const answeredBefore = client.received
      .slice(0, refusal)
      .filter((line) => String(line['id']).startsWith('status-') && 'success' in line);
    expect(answeredBefore.length).toBeGreaterThanOrEqual(STATUS_ANSWERS);
    // and none waited long: a generous bound, since the test machine is shared
    expect(Math.max(...latencies)).toBeLessThan(5000);
    expect(leftovers(daemon.home).staging).toEqual([]);
  });
});
