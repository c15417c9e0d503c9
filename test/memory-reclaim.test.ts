/** When the daemon gives memory back: only with enough slack, and only while it is quiet. */
import { describe, expect, it } from 'vitest';
import { shouldReclaim } from '../src/daemon/memory-reclaim.js';

const MB = 1024 * 1024;
const options = { everyMs: 5000, slackBytes: 32 * MB, maxBusy: 0.05 };

describe('memory reclaim policy', () => {
  it('reclaims after a burst once the daemon is quiet', () => {
    expect(shouldReclaim({ rss: 150 * MB, settledRss: 85 * MB, busy: 0.01 }, options)).toBe(true);
  });

  it('waits while the daemon is busy: the GC would pause calls', () => {
    expect(shouldReclaim({ rss: 150 * MB, settledRss: 85 * MB, busy: 0.4 }, options)).toBe(false);
  });

  it('leaves small growth alone', () => {
    expect(shouldReclaim({ rss: 100 * MB, settledRss: 85 * MB, busy: 0 }, options)).toBe(false);
  });
});
