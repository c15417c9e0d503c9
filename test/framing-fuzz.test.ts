/**
 * Property-based fuzzing of both line parsers, quick edition (2,000 lines each side, `npm test`);
 * `test/chaos/framing-fuzz.chaos.ts` runs the same suite at 24,000. FUZZ_SEED reproduces a run.
 */
import { fuzzSuite } from './fuzz-lines.js';

fuzzSuite({ connections: 4, lines: 2000, batch: 50, maxLineLength: 256 * 1024 });
