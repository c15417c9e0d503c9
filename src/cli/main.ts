/**
 * The podkeeper command line (docs/architecture.md#home-configuration-and-clients). Each command
 * lives in `commands/`; this file only registers them; program.ts turns failures into exit codes.
 * `podkeeper daemon` starts from daemon-main.ts instead.
 */

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
import { newProgram, runProgram } from './program.js';

const program = newProgram();

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
await runProgram(program);
