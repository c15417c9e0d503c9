/**
 * `/metrics` on the HTTP listener: after a known sequence of calls (three echoes, a handler error, a
 * crash and its restart, an idle reclaim), the scrape parses as the exposition format and holds
 * exactly those counts.
 */
import { describe, expect, it } from 'vitest';
import { eventuallyAsync, parseExposition, sampleValue, startHttpDaemon } from './http-helpers.js';

describe('HTTP /metrics', () => {
  it('counts spawns, calls by outcome, crashes, restarts, reclaims, and reports memory and pods', {
    timeout: 60_000,
  }, async () => {
    const { url, request } = await startHttpDaemon({ args: ['--max-memory', '500', '--idle-timeout', '-1'] });
    for (let i = 0; i < 3; i++)
      expect(await request('call', { target: 'echo', input: { i } })).toMatchObject({ success: true });
    // `reverse` reads a field of its payload: a number makes the handler raise.
    expect(await request('call', { target: 'echo', action: 'reverse', input: 5 })).toMatchObject({
      success: false,
      error: { code: 'HANDLER_ERROR' },
    });
    expect(await request('call', { target: 'crash-mid', input: { crash: true } })).toMatchObject({
      success: false,
      error: { code: 'POD_CRASHED' },
    });
    expect(await request('call', { target: 'crash-mid', input: {} })).toMatchObject({ success: true });
    // keep-alive 0 on the last call: the echo pod is reclaimed after it, by the idle rule.
    expect(await request('call', { target: 'echo', input: {}, keepAlive: 0 })).toMatchObject({
      success: true,
    });

    const scrape = async () => {
      const response = await fetch(`${url}metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseExposition(await response.text());
    };
    expect(
      await eventuallyAsync(async () => {
        const { samples } = await scrape();
        return sampleValue(samples, 'podkeeper_pod_reclaims_total', { recipe: 'echo' }) === 1;
      }),
    ).toBe(true);
    const { samples, types } = await scrape();
    const count = (name: string, labels: Record<string, string>) => sampleValue(samples, name, labels);

    expect(types.get('podkeeper_pod_spawns_total')).toBe('counter');
    expect(types.get('podkeeper_call_duration_seconds')).toBe('histogram');
    expect(types.get('podkeeper_pods')).toBe('gauge');
    expect(count('podkeeper_pod_spawns_total', { recipe: 'echo' })).toBe(1);
    expect(count('podkeeper_pod_spawns_total', { recipe: 'crash-mid' })).toBe(2);
    expect(count('podkeeper_pod_crashes_total', { recipe: 'crash-mid' })).toBe(1);
    expect(count('podkeeper_pod_restarts_total', { recipe: 'crash-mid' })).toBe(1);
    expect(count('podkeeper_pod_restarts_total', { recipe: 'echo' })).toBeUndefined();
    expect(count('podkeeper_pod_cold_start_seconds_count', { recipe: 'crash-mid' })).toBe(2);
    expect(count('podkeeper_pod_cold_start_seconds_count', { recipe: 'echo' })).toBe(1);
    const calls = (recipe: string, outcome: string) =>
      count('podkeeper_call_duration_seconds_count', { recipe, outcome });
    expect(calls('echo', 'ok')).toBe(4);
    expect(calls('echo', 'HANDLER_ERROR')).toBe(1);
    expect(calls('crash-mid', 'POD_CRASHED')).toBe(1);
    expect(calls('crash-mid', 'ok')).toBe(1);
    // Every call lands in the +Inf bucket, and the buckets are cumulative.
    expect(
      count('podkeeper_call_duration_seconds_bucket', { recipe: 'echo', outcome: 'ok', le: '+Inf' }),
    ).toBe(4);
    expect(count('podkeeper_memory_budget_bytes', {})).toBe(500 * 1024 * 1024);
    // crash-mid's second pod is still up (idle timeout -1); echo's was reclaimed.
    expect(count('podkeeper_pods', { state: 'ready' })).toBe(1);
    expect(count('podkeeper_pods', { state: 'busy' })).toBe(0);
    expect(count('podkeeper_queue_depth', { recipe: 'crash-mid' })).toBe(0);
    expect(count('podkeeper_memory_used_bytes', {})).toBeGreaterThan(0);
  });
});
