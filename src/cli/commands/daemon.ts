import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { RunDaemonOptions } from '../../daemon/main.js';
import { PodkeeperError } from '../../errors.js';
import { withDaemonOptions } from '../daemon-options.js';
import { detachDaemon } from '../detach.js';

interface DaemonCommandOptions extends RunDaemonOptions {
  detach?: boolean;
  pidFile?: string;
}

export function registerDaemon(program: Command): void {
  withDaemonOptions(
    program
      .command('daemon')
      .description('run the daemon in the foreground (Ctrl-C or `podkeeper shutdown` stops it)')
      .option('--stdio', 'speak the control protocol on stdin/stdout (for a host app that spawns it)')
      .option(
        '--detach',
        'run in the background: wait until it answers, print its pid ($home/podkeeper.pid), exit',
      )
      .addOption(new Option('--pid-file <path>', 'write the pid here while running').hideHelp()),
  ).action(async ({ detach, pidFile, ...options }: DaemonCommandOptions) => {
    if (detach && options.stdio) {
      throw new PodkeeperError(
        'BAD_REQUEST',
        '--detach and --stdio cannot go together: a --stdio daemon speaks on the stdio of the app that spawned it.',
        { details: { field: 'detach' } },
      );
    }
    if (detach) {
      const pid = await detachDaemon(options, process.argv.slice(2));
      process.stdout.write(`${pid}\n`);
      return;
    }
    const { runDaemon } = await import('../../daemon/main.js'); // the daemon's modules, only for it
    // Written only once the socket is ours: a daemon that loses it to another never touches the file.
    const onListening = () => pidFile && writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
    try {
      process.exitCode = await runDaemon({ ...options, onListening });
    } finally {
      if (pidFile) removePidFile(pidFile);
    }
    // Everything is closed; should a stray handle still hold the loop, do not hang on it.
    setTimeout(() => process.exit(), 2000).unref();
  });
}

/** Removes the pid file if it is still ours (a later daemon may have written its own). */
function removePidFile(file: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
  } catch {
    // gone already
  }
}
