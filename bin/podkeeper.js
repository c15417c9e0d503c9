#!/usr/bin/env node
// The podkeeper command. It needs Node >= 22; on an older Node it hands over to the Node 24 that
// `npm start` / `npm test` install into .tools/ (see scripts/with-node.mjs), or says what to do.
// Kept free of syntax and APIs newer than Node 16 so that the check itself always runs.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './run-child.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
/** Megabytes of one semi-space of the daemon's young generation (see below; measured in BENCHMARKS.md). */
const SEMI_SPACE = '--max-semi-space-size=4';
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  const local = join(root, '.tools', 'node_modules', '.bin', 'node');
  if (!existsSync(local)) {
    process.stderr.write(
      `UNSUPPORTED_NODE: podkeeper needs Node >= 22.12.0 (this is ${process.version}, ${process.execPath}). ` +
        'Install Node 22.12+ and reinstall podkeeper with it, or run `npm start` once in the podkeeper ' +
        'checkout: it installs Node 24 into .tools/.\n',
    );
    process.exit(1);
  }
  // Not spawnSync: while it waits, no signal handler runs, and a SIGTERM would end us alone.
  runChild(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)]);
} else {
  const args = process.argv.slice(2);
  if (args[0] === 'daemon' && needsDaemonFlags()) {
    // The daemon runs with a small young generation: V8's default lets it grow to 128 MB under a
    // burst of short-lived objects (a noisy pod, clients that stop reading) and keeps it committed.
    // The flag only works on the command line, so the process replaces itself (same pid, fds, env).
    process.execve(process.execPath, [
      process.execPath,
      ...process.execArgv,
      SEMI_SPACE,
      ...process.argv.slice(1),
    ]);
  }
  // The daemon's own entry loads none of the other commands' modules (a lighter long-running process).
  await import(args[0] === 'daemon' ? '../dist/cli/daemon-main.js' : '../dist/cli/main.js');
}

function needsDaemonFlags() {
  if (typeof process.execve !== 'function') return false; // Node < 22.15 / 23.11: run as is
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return !given.some((flag) => flag.startsWith('--max-semi-space-size'));
}
