/**
 * Gives memory back once the daemon is quiet again. After a burst (a noisy pod, clients that stop
 * reading) V8 keeps the pages it grew into, empty, committed and pooled: the live heap is back to
 * ~18 MB while the process still holds ~60 MB more than before (measured: BENCHMARKS.md, "Slow
 * readers"). An ordinary full GC frees the objects but keeps those pages; only V8's last-resort
 * collection releases them. So, every `everyMs`:
 *
 *   RSS ≥ the last settled RSS + slackBytes  and  the event loop was ≤ maxBusy busy ─▶ last-resort GC
 *
 * The GC pauses the daemon for tens of milliseconds, which is why it waits for a quiet period.
 *
 * And once a write of `collectAfterBytes` or more is done (a payload to a pod or a client), an
 * ordinary major GC at once: its buffers are garbage then (large-writes.ts), and collected they are
 * reused for the answer that comes next, where V8 would collect them only after ~64 MB more external
 * memory (measured: a 100 MB round trip raised the RSS by 94–124 MB without it, 52–56 MB with it).
 * Rate-limited: see collectAfterLargeWrites.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { onLargeWrites } from '../transport/large-writes.js';

export interface ReclaimOptions {
  /** How often to look, ms. @default 5000 */
  everyMs?: number;
  /** RSS above the last settled value that is worth a GC, bytes. @default 8 MB */
  slackBytes?: number;
  /** Event-loop utilization over the last period at or under which the daemon counts as quiet. @default 0.05 */
  maxBusy?: number;
  /**
   * Bytes of a write (a message, or those queued behind a full pipe) after which they are collected
   * at once. @default 32 MiB
   */
  collectAfterBytes?: number;
  /** Told after each reclaim: RSS before and after (bytes), and how long the GC paused (ms). */
  onReclaim?: (facts: { rssBefore: number; rssAfter: number; pauseMs: number }) => void;
}

/** What one look saw. */
export interface ReclaimSample {
  rss: number;
  /** RSS right after the last reclaim (or at start). */
  settledRss: number;
  /** Event-loop utilization since the previous look, 0..1. */
  busy: number;
}

/**
 * The defaults. The slack is below the drift a long quiet daemon should not keep: 1,000 spawn/exit
 * cycles leave it ~15 MB above where it settled, all of it pages V8 gives back to a last-resort GC
 * (RELIABILITY.md, case 6). With 32 MB that drift stayed for good. One GC costs ~50 ms, once per
 * quiet period at most: after it, the RSS it leaves is the new settled value.
 */
export const RECLAIM_DEFAULTS = {
  everyMs: 5000,
  slackBytes: 8 * 1024 * 1024,
  maxBusy: 0.05,
  collectAfterBytes: 32 * 1024 * 1024,
} as const;

/** True when the daemon holds enough more than it settled at, and is quiet enough to pause for a GC. */
export function shouldReclaim(
  sample: ReclaimSample,
  options: { slackBytes: number; maxBusy: number },
): boolean {
  return sample.rss - sample.settledRss >= options.slackBytes && sample.busy <= options.maxBusy;
}

export type Collect = (options: { type: 'major'; execution: 'sync'; flavor?: 'last-resort' }) => void;

/** V8's `gc`, without `--expose-gc` on the command line. */
function exposeGc(): Collect {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Collect;
}

/** Starts looking; returns the stopper. The timer never keeps the process alive. */
export function startMemoryReclaim(options: ReclaimOptions = {}): () => void {
  const settings = {
    everyMs: options.everyMs ?? RECLAIM_DEFAULTS.everyMs,
    slackBytes: options.slackBytes ?? RECLAIM_DEFAULTS.slackBytes,
    maxBusy: options.maxBusy ?? RECLAIM_DEFAULTS.maxBusy,
  };
  const collect = exposeGc();
  let settledRss = process.memoryUsage.rss();
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const rss = process.memoryUsage.rss();
    if (rss < settledRss) settledRss = rss;
    if (!shouldReclaim({ rss, settledRss, busy }, settings)) return;
    const started = performance.now();
    collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const pauseMs = performance.now() - started;
    settledRss = process.memoryUsage.rss();
    options.onReclaim?.({ rssBefore: rss, rssAfter: settledRss, pauseMs });
    last = performance.eventLoopUtilization(); // the GC itself is not load
  }, settings.everyMs);
  timer.unref();
  const stopListening = collectAfterLargeWrites(
    collect,
    options.collectAfterBytes ?? RECLAIM_DEFAULTS.collectAfterBytes,
  );
  return () => {
    clearInterval(timer);
    stopListening();
  };
}

/** The share of the daemon's time that the GCs after large writes may take, at most. */
const LARGE_WRITE_GC_SHARE = 0.1;

/**
 * An ordinary major GC once a write of `minBytes` or more is done (large-writes.ts), in the turn
 * after the one that heard of it (Node still holds the write then). A stream of big payloads gets
 * one only as often as its pauses stay within {@link LARGE_WRITE_GC_SHARE} of the time: a GC that
 * paused 30 ms allows the next 300 ms later (its cost grows with the heap: measured 20–35 ms on the
 * daemon's, ~40 ms with 50 MB of live objects).
 */
export function collectAfterLargeWrites(
  collect: Collect,
  minBytes: number,
  now: () => number = () => performance.now(),
): () => void {
  let scheduled = false;
  let notBefore = 0;
  return onLargeWrites((bytes) => {
    if (bytes < minBytes || scheduled || now() < notBefore) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const started = now();
      collect({ type: 'major', execution: 'sync' });
      notBefore = started + (now() - started) / LARGE_WRITE_GC_SHARE;
    });
  });
}
