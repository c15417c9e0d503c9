/**
 * On a Node older than 22.12 the library says so with a coded error (UNSUPPORTED_NODE) instead of a
 * TypeError from a dependency, and so does the command when it has no newer Node to hand over to.
 * Run with the machine's own old Node when there is one (Debian's /usr/bin/node is 20 here).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeProblem } from '../src/node-version.js';
import { ROOT } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

/** A Node older than 22.12 on PATH (or /usr/bin/node), if the machine has one. */
function oldNode(): string | undefined {
  const found = spawnSync('sh', ['-c', 'which -a node; echo /usr/bin/node'], { encoding: 'utf8' });
  for (const candidate of new Set(found.stdout.split('\n').filter(Boolean))) {
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout;
    if (version && nodeProblem(version.trim()) !== undefined) return candidate;
  }
  return undefined;
}

const OLD_NODE = oldNode();

describe('nodeProblem', () => {
  it('accepts 22.12 and newer, refuses older ones naming the version needed', () => {
    for (const ok of ['22.12.0', '22.20.1', '23.0.0', '24.3.0']) expect(nodeProblem(ok)).toBeUndefined();
    for (const old of ['20.20.2', '22.11.0', '18.0.0'])
      expect(nodeProblem(old)).toMatch(new RegExp(`needs Node >= 22\\.12\\.0; this is Node ${old}`));
  });
});

// Skipped only when the machine has no Node older than 22.12 to run them with.
describe.skipIf(OLD_NODE === undefined)(`on an old Node (${OLD_NODE})`, () => {
  for (const entry of ['dist/index.js', 'dist/client/index.js']) {
    it(`importing ${entry} fails with UNSUPPORTED_NODE, not a TypeError`, () => {
      const script = `import(${JSON.stringify(join(ROOT, entry))}).then(
        () => console.log('imported'),
        (e) => console.log(JSON.stringify({ code: e.code, message: e.message, name: e.name })))`;
      const out = execFileSync(OLD_NODE as string, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      const error = JSON.parse(out) as { code: string; message: string; name: string };
      expect(error).toMatchObject({ code: 'UNSUPPORTED_NODE', name: 'PodkeeperError' });
      expect(error.message).toMatch(/needs Node >= 22\.12\.0; this is Node 2\d\./);
    });
  }

  it('the command, installed without a newer Node to hand over to, says UNSUPPORTED_NODE', () => {
    // A copy of bin/ without the checkout's .tools/ beside it, as in a global install on Node 20.
    const root = tempDir();
    cpSync(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
    const run = spawnSync(OLD_NODE as string, [join(root, 'bin', 'podkeeper.js'), '--version'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^UNSUPPORTED_NODE: podkeeper needs Node >= 22\.12\.0 \(this is v2\d\./);
  });
});
