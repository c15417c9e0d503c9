/**
 * Property-based fuzzing of both line parsers, quick edition (~2,000 lines each side, `npm test`);
 * `test/chaos/framing-fuzz.chaos.ts` runs the same at ≥ 20,000. FUZZ_SEED reproduces a run.
 */
import { describe, expect, it } from 'vitest';
import { startDaemon } from './daemon-helpers.js';
import { fuzzConnection, fuzzRunner, generateBatches } from './fuzz-lines.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);
const CONNECTIONS = 4;

describe(`fuzzing the line parsers (FUZZ_SEED=${SEED})`, () => {
  it('the daemon answers every id exactly once over several connections, and keeps running', async () => {
    const daemon = await startDaemon({ config: { maxLineLength: 256 * 1024 } });
    const runs = Array.from({ length: CONNECTIONS }, (_, index) =>
      fuzzConnection(daemon.socket, generateBatches(500, 50, SEED + index, `k${index}-`)),
    );
    const tallies = await Promise.all(runs);
    expect(tallies.flatMap((tally) => tally.problems)).toEqual([]);
    expect(tallies.reduce((sum, tally) => sum + tally.sent, 0)).toBeGreaterThanOrEqual(2000);
    expect(daemon.child.exitCode).toBeNull();
  }, 120_000);

  it('the Python runner answers every id exactly once and keeps running', async () => {
    const tally = await fuzzRunner(generateBatches(2000, 100, SEED));
    expect(tally.problems).toEqual([]);
    expect(tally.sent).toBeGreaterThan(1500);
  }, 120_000);
});
