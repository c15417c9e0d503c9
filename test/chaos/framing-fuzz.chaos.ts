/**
 * Property-based fuzzing of both line parsers at volume (`npm run test:chaos`): 24,000 generated
 * lines over 8 control connections, and 20,000 straight into a Python runner. Every id is answered
 * exactly once and nothing crashes. FUZZ_SEED reproduces a run.
 */
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../daemon-helpers.js';
import { fuzzConnection, fuzzRunner, generateBatches } from '../fuzz-lines.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);
const CONNECTIONS = 8;

describe(`fuzzing the line parsers at volume (FUZZ_SEED=${SEED})`, () => {
  it('the daemon answers 24,000 lines over 8 connections, each id exactly once', async () => {
    const daemon = await startDaemon({ config: { maxLineLength: 1024 * 1024 } });
    const runs = Array.from({ length: CONNECTIONS }, (_, index) =>
      fuzzConnection(daemon.socket, generateBatches(3000, 100, SEED + index, `k${index}-`)),
    );
    const tallies = await Promise.all(runs);
    expect(tallies.flatMap((tally) => tally.problems)).toEqual([]);
    expect(tallies.reduce((sum, tally) => sum + tally.sent, 0)).toBeGreaterThanOrEqual(24_000);
    expect(daemon.child.exitCode).toBeNull();
  });

  it('the Python runner answers 20,000 lines, each id exactly once', async () => {
    const tally = await fuzzRunner(generateBatches(23_000, 200, SEED));
    expect(tally.problems).toEqual([]);
    expect(tally.sent).toBeGreaterThanOrEqual(20_000);
  });
});
