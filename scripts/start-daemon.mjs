#!/usr/bin/env node
/**
 * `npm start`: the daemon in the foreground, with every argument given after `npm start --` passed
 * to it (`npm start -- --idle-timeout 5`), compiling TypeScript first only when dist/ is missing or
 * older than src/ (`npm install` has built it already; a rebuild costs ~10 s).
 *
 *   node scripts/with-node.mjs node scripts/start-daemon.mjs [daemon options...]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const BUILT = join(ROOT, 'dist', 'cli', 'main.js');

/** The newest modification time under `dir`, ms. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const sources = Math.max(newest(join(ROOT, 'src')), statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs);
if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < sources) {
  process.stderr.write('building (src/ changed since the last build)...\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const built = spawnSync(npm, ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const daemon = spawn(
  process.execPath,
  [join(ROOT, 'bin', 'podkeeper.js'), 'daemon', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => daemon.kill(signal));
daemon.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
