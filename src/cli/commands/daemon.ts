import type { Command } from 'commander';
import type { RunDaemonOptions } from '../../daemon/main.js';
import { withDaemonOptions } from '../daemon-options.js';

export function registerDaemon(program: Command): void {
  withDaemonOptions(
    program
      .command('daemon')
      .description('run the daemon in the foreground (Ctrl-C or `podkeeper shutdown` stops it)')
      .option('--stdio', 'speak the control protocol on stdin/stdout (for a host app that spawns it)'),
  ).action(async (options: RunDaemonOptions) => {
    const { runDaemon } = await import('../../daemon/main.js'); // the daemon's modules, only for it
    process.exitCode = await runDaemon(options);
    // Everything is closed; should a stray handle still hold the loop, do not hang on it.
    setTimeout(() => process.exit(), 2000).unref();
  });
}
