/**
 * The podkeeper command line (docs/architecture.md#home-configuration-and-clients). Each command
 * lives in `commands/`; this file only builds the program and turns failures into exit codes (see
 * exit-codes.ts).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { PACKAGE_ROOT } from '../paths.js';
import { registerCall } from './commands/call.js';
import { registerCompletion } from './commands/completion.js';
import { registerConfig } from './commands/config.js';
import { registerDaemon } from './commands/daemon.js';
import { registerDoctor } from './commands/doctor.js';
import { registerGc } from './commands/gc.js';
import { registerInstall } from './commands/install.js';
import { registerLogs } from './commands/logs.js';
import { registerPs } from './commands/ps.js';
import { registerRecipes } from './commands/recipes.js';
import { registerRemove } from './commands/remove.js';
import { registerRun } from './commands/run.js';
import { registerService } from './commands/service.js';
import { registerShutdown } from './commands/shutdown.js';
import { registerStart } from './commands/start.js';
import { registerStatus } from './commands/status.js';
import { registerStop } from './commands/stop.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { printError } from './output.js';

const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('podkeeper')
  .description('Supervises Python worker pods: on-demand spawn, JSON-lines IPC, idle reclaim, recipes.')
  .version(version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

for (const register of [
  registerDaemon,
  registerStatus,
  registerPs,
  registerCall,
  registerStart,
  registerStop,
  registerLogs,
  registerInstall,
  registerRecipes,
  registerRemove,
  registerGc,
  registerShutdown,
  registerRun,
  registerConfig,
  registerDoctor,
  registerService,
  registerCompletion,
]) {
  register(program);
}
for (const command of program.commands) command.exitOverride();

// `--json` of the command being run: its errors are then JSON too.
let json = false;
program.hook('preAction', (_program, action) => {
  json = action.opts()['json'] === true;
});

// A reader that went away (`podkeeper status | head -1`) is no error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw error;
  });
}

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the problem (or the help) already.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    printError(error, json);
    process.exitCode = exitCodeFor(error);
  }
}
