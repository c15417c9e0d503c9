import type { Command } from 'commander';
import { colorsFor } from '../../colors.js';
import type { DaemonFlags } from '../../daemon/config.js';
import { withDaemonOptions } from '../daemon-options.js';
import { type CheckResult, runChecks } from '../doctor/checks.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../output.js';

export function registerDoctor(program: Command): void {
  withDaemonOptions(
    program
      .command('doctor')
      .description(
        'check python, uv, env mode, disk, home, socket and the daemon; say the fix for each problem',
      )
      .option('--json', 'machine-readable output'),
  ).action(async (options: DaemonFlags & { json?: boolean }) => {
    const { json, ...flags } = options;
    const checks = await runChecks(flags);
    const failed = checks.some((check) => check.status === 'fail');
    if (json) printJson({ ok: !failed, checks });
    else for (const check of checks) process.stdout.write(line(check));
    process.exitCode = failed ? EXIT.failed : EXIT.ok;
  });
}

function line(check: CheckResult): string {
  const colors = colorsFor(process.stdout);
  const paint = { ok: colors.green, warn: colors.yellow, fail: colors.red }[check.status];
  const head = `${paint(check.status.padEnd(4))}  ${check.name.padEnd(8)}  ${check.detail}\n`;
  return check.fix ? `${head}${' '.repeat(16)}fix: ${check.fix}\n` : head;
}
