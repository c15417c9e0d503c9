/** What `gc` reports as freed: a folder's allocated blocks, minus files hard-linked from elsewhere. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesFreedByRemoving } from '../src/env/disk-usage.js';
import { tempDir } from './helpers.js';

const MiB = 1024 * 1024;

describe('bytesFreedByRemoving', () => {
  it('counts the blocks of files only this tree holds, as du does, and not those linked from a cache', () => {
    const root = tempDir();
    const cache = join(root, 'cache');
    const env = join(root, 'env');
    mkdirSync(join(env, 'lib'), { recursive: true });
    mkdirSync(cache);
    writeFileSync(join(env, 'lib', 'own.bin'), randomBytes(MiB));
    writeFileSync(join(cache, 'shared.bin'), randomBytes(2 * MiB));
    linkSync(join(cache, 'shared.bin'), join(env, 'lib', 'shared.bin'));
    symlinkSync('/usr/bin/python3', join(env, 'python'));
    const freed = execFileSync('du', ['-s', '-B1', env], { encoding: 'utf8' });
    // du counts the linked file too (it cannot know the cache keeps it): subtract its blocks.
    const linked = execFileSync('du', ['-s', '-B1', join(cache, 'shared.bin')], { encoding: 'utf8' });
    const expected = Number(freed.split('\t')[0]) - Number(linked.split('\t')[0]);
    expect(expected).toBeGreaterThanOrEqual(MiB);
    return bytesFreedByRemoving(env).then((bytes) => expect(bytes).toBe(expected));
  });

  it('a missing folder frees nothing', async () => {
    expect(await bytesFreedByRemoving(join(tempDir(), 'gone'))).toBe(0);
  });
});
