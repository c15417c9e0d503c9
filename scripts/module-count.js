/**
 * `node --import ./scripts/module-count.js …`: records every module the process loads (ESM and
 * CommonJS, Node's built-ins included) and, on SIGUSR2, writes them to $MODULE_COUNT_FILE, one URL a
 * line. bench-memory.js uses it on a daemon of its own (the hook costs memory of its own).
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on('SIGUSR2', () =>
  writeFileSync(process.env.MODULE_COUNT_FILE ?? 'modules.txt', `${loaded.join('\n')}\n`),
);
