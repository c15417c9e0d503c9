#!/usr/bin/env node
// The podkeeper command. It needs Node >= 22; on an older Node it hands over to the Node 24 that
// `npm start` / `npm test` install into .tools/ (see scripts/with-node.mjs), or says what to do.
// Kept free of syntax and APIs newer than Node 16 so that the check itself always runs.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './run-child.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
if (Number(process.versions.node.split('.')[0]) < 22) {
  const local = join(root, '.tools', 'node_modules', '.bin', 'node');
  if (!existsSync(local)) {
    process.stderr.write(
      `podkeeper needs Node >= 22 (this is ${process.version}). Install Node 22+, or run \`npm start\` ` +
        'once in the podkeeper checkout: it installs Node 24 into .tools/.\n',
    );
    process.exit(1);
  }
  // Not spawnSync: while it waits, no signal handler runs, and a SIGTERM would end us alone.
  runChild(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)]);
} else {
  await import('../dist/cli/main.js');
}
