#!/usr/bin/env node
/**
 * Runs a command with a Node >= 22 first on PATH. When the Node running this script is older (the
 * machine's own, say), Node 24 is installed once from the npm registry's `node` package into
 * `.tools/` and put first on PATH for the command. Written for old Nodes: no syntax or API newer
 * than Node 16.
 *
 *   node scripts/with-node.mjs npm run start:daemon
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from '../bin/run-child.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const TOOLS_BIN = join(ROOT, '.tools', 'node_modules', '.bin');
const MINIMUM = 22;

const major = (version) => Number(String(version).replace(/^v/, '').split('.')[0]);

function modernNodeDir() {
  if (major(process.versions.node) >= MINIMUM) return undefined;
  const local = join(TOOLS_BIN, 'node');
  if (!existsSync(local)) {
    process.stderr.write(
      `podkeeper needs Node >= ${MINIMUM}; this is ${process.version}. Installing Node 24 into .tools/ (once)...\n`,
    );
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const args = [
      'install',
      '--prefix',
      join(ROOT, '.tools'),
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      'node@24',
    ];
    const result = spawnSync(npm, args, { stdio: 'inherit' });
    if (result.status !== 0 || !existsSync(local)) {
      process.stderr.write('Could not install Node 24 with npm; install Node 22 or newer and try again.\n');
      process.exit(1);
    }
  }
  return TOOLS_BIN;
}

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: node scripts/with-node.mjs <command> [args...]\n');
  process.exit(2);
}
const dir = modernNodeDir();
const env = dir ? { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` } : process.env;
runChild(command, args, { env });
