/**
 * What every podkeeper command line shares: the program's name and version, and how a run ends
 * (exit codes, errors printed once, a closed stdout). main.ts registers every command on it; the
 * daemon's entry (daemon-main.ts) only its own, so a daemon loads none of the other commands' modules.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { PACKAGE_ROOT } from '../paths.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { printError } from './output.js';

export function newProgram(): Command {
  const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return new Command()
    .name('podkeeper')
    .description('Supervises Python worker pods: on-demand spawn, JSON-lines IPC, idle reclaim, recipes.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
}

/** Parses `process.argv` and runs the command; sets `process.exitCode` from how it ended. */
export async function runProgram(program: Command): Promise<void> {
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
}
