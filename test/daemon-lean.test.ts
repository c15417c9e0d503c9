/**
 * A running daemon loads what serving needs and nothing only other paths need: none of the other
 * CLI commands' modules (tables, progress bars, completion), no tar or install pipeline before an
 * install, no status page before `--http`, and no execa to start a pod. Counted with a module load
 * hook (scripts/module-count.js), the way `npm run bench:memory` counts them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, startDaemon } from './daemon-helpers.js';
import { eventually, tempDir } from './helpers.js';

/** Every module URL the daemon has loaded so far. */
async function loadedModules(pid: number, file: string, previous = 0): Promise<string[]> {
  process.kill(pid, 'SIGUSR2');
  let urls: string[] = [];
  await eventually(() => {
    urls = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    return urls.length > previous;
  }, 5000);
  return urls;
}

const ONLY_ELSEWHERE = [
  /node_modules\/(cli-table3|cli-progress|tar|execa|prom-client)\//,
  /dist\/cli\/commands\/(?!daemon\.js)/,
  /dist\/cli\/(main|completion|service|doctor|progress)/,
  /dist\/install\/(stage|unpack|source|pack|prepare)\.js/,
  /dist\/http\/(server|metrics)\.js/,
];

describe('the daemon process', () => {
  it('loads no module that only the CLI, an install or the status page needs, also once a pod ran', async () => {
    const file = join(tempDir('pk-modules-'), 'modules.txt');
    const hook = join(ROOT, 'scripts', 'module-count.js');
    const daemon = await startDaemon({
      env: { MODULE_COUNT_FILE: file },
      command: (argv) => [process.execPath, '--import', hook, ...argv],
    });
    const pid = daemon.child.pid as number;
    const idle = await loadedModules(pid, file);
    expect(idle.some((url) => url.endsWith('/dist/daemon/daemon.js'))).toBe(true);
    expect(idle.filter((url) => ONLY_ELSEWHERE.some((pattern) => pattern.test(url)))).toEqual([]);

    expect((await runCli(['call', 'echo', '{"x":1}', '--home', daemon.home])).stdout).toContain('"x"');
    const served = await loadedModules(pid, file, idle.length);
    expect(served.some((url) => url.endsWith('/dist/pod/spawn.js'))).toBe(true);
    expect(served.filter((url) => ONLY_ELSEWHERE.some((pattern) => pattern.test(url)))).toEqual([]);
  });
});
