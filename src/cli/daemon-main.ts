/**
 * `podkeeper daemon`'s entry (bin/podkeeper.js picks it when the first argument is `daemon`): the
 * program with the daemon command alone. A long-running daemon then never loads what only the other
 * commands need (tables, progress bars, completion, service files): measured in BENCHMARKS.md.
 */

import { registerDaemon } from './commands/daemon.js';
import { newProgram, runProgram } from './program.js';

const program = newProgram();
registerDaemon(program);
await runProgram(program);
