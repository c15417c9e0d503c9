/**
 * Property-based fuzzing of both line parsers at volume (`npm run test:chaos`): 24,000 generated
 * lines over 8 control connections, and 24,000 straight into a Python runner. Every id is answered
 * exactly once and nothing crashes. FUZZ_SEED reproduces a run.
 */
import { fuzzSuite } from '../fuzz-lines.js';

fuzzSuite({ connections: 8, lines: 24_000, batch: 100, maxLineLength: 1024 * 1024 });
