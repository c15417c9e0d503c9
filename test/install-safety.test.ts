/**
 * Hostile archives and folders: every one is refused with UNSAFE_ARCHIVE naming the member, nothing
 * is written outside the staging folder, and nothing is left behind.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { installHostOf } from '../src/daemon/install-host.js';
import { RecipeInstaller } from '../src/install/installer.js';
import { onCleanup, tempDir } from './helpers.js';
import {
  gzipBomb,
  installFixture,
  leftovers,
  packRecipe,
  rawTarball,
  recipeMembers,
  writeRecipe,
} from './install-helpers.js';

describe('unpacking safely', () => {
  const outside = `podkeeper-escape-${process.pid}`;

  it.each([
    ['a "../x" member', { path: `evil/../../${outside}`, body: 'x' }, `evil/../../${outside}`, /climbs out/],
    ['an absolute path', { path: `/tmp/${outside}`, body: 'x' }, `/tmp/${outside}`, /absolute path/],
    [
      'a symlink out of the folder',
      { path: 'evil/escape', type: 'SymbolicLink', linkpath: '../../..' },
      'evil/escape',
      /symbolic link leaving the recipe folder/,
    ],
    [
      'a symlink to an absolute path',
      { path: 'evil/passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' },
      'evil/passwd',
      /symbolic link to an absolute path/,
    ],
    [
      'a hard link out of the folder',
      { path: 'evil/hard', type: 'Link', linkpath: `../${outside}` },
      'evil/hard',
      /hard link leaving the recipe folder/,
    ],
    [
      'a symlink that climbs after a name',
      { path: 'evil/sneaky', type: 'SymbolicLink', linkpath: 'x/../../..' },
      'evil/sneaky',
      /climbs with ".." after a name/,
    ],
    ['a device', { path: 'evil/tty', type: 'CharacterDevice' }, 'evil/tty', /device/],
    ['a FIFO', { path: 'evil/pipe', type: 'FIFO' }, 'evil/pipe', /FIFO/],
  ] as const)('refuses %s', async (_what, member, name, why) => {
    const fx = installFixture();
    const file = rawTarball([...recipeMembers('evil'), member]);
    const error = await fx.install(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSAFE_ARCHIVE', details: { member: name } });
    expect((error as Error).message).toContain(`"${name}"`);
    expect((error as Error).message).toMatch(why);
    expect(existsSync(`/tmp/${outside}`)).toBe(false);
    expect(existsSync(join(fx.home, outside))).toBe(false);
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [] });
    await expect(fx.manager.call('evil', 1)).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
  });

  it('keeps a symlink that stays inside the recipe folder', async () => {
    const fx = installFixture();
    const file = rawTarball([
      ...recipeMembers('linked'),
      { path: 'linked/data/', type: 'Directory' },
      { path: 'linked/data/words.txt', body: 'hello' },
      { path: 'linked/words', type: 'SymbolicLink', linkpath: 'data/words.txt' },
      { path: 'linked/data/up', type: 'SymbolicLink', linkpath: '../pod.py' },
    ]);
    const summary = await fx.install(file);
    expect(existsSync(join(summary.source, 'words'))).toBe(true);
    expect(await fx.manager.call('linked', 'ok')).toBe('ok');
  });

  it('refuses an archive that unpacks past the size bound, naming the member that crossed it', async () => {
    const fx = installFixture();
    const installer = new RecipeInstaller({ host: installHostOf(fx.manager), maxUnpackedMB: 0.05 });
    const file = rawTarball([...recipeMembers('huge'), { path: 'huge/blob.bin', body: 'z'.repeat(100_000) }]);
    const error = await installer.install({ source: file }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSAFE_ARCHIVE', details: { member: 'huge/blob.bin' } });
    expect((error as Error).message).toMatch(/unpacks to more than 51\.2 KiB/);
  });

  it('refuses a gzip bomb: every inflated byte counts, the zeros after the end of the archive too', async () => {
    const fx = installFixture();
    const installer = new RecipeInstaller({ host: installHostOf(fx.manager), maxUnpackedMB: 1 });
    await installer.install({ source: writeRecipe({ name: 'bomb', version: '1.0.0' }) });
    const file = await gzipBomb('bomb', 32 * 1024 * 1024);
    const error = await installer.install({ source: file }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'UNSAFE_ARCHIVE',
      details: { archive: file, bound: 1024 * 1024 },
    });
    expect((error as Error).message).toMatch(/inflates to more than 1\.0 MiB \(the recipe size bound\)/);
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [expect.stringMatching(/^bomb@1\.0\.0-/)] });
    expect(await fx.manager.call('bomb', 'still')).toMatchObject({ version: '1.0.0', input: 'still' });

    // Zeros after the end that stay under the bound are a valid archive (tar pads its records so).
    const padded = await gzipBomb('padded', 256 * 1024);
    await installer.install({ source: padded });
    expect(await fx.manager.call('padded', 7)).toBe(7);
  });

  it('refuses an archive that is not a tar inside its gzip (a gzip in a gzip)', async () => {
    const fx = installFixture();
    const inner = readFileSync(rawTarball(recipeMembers('nested')));
    const file = join(tempDir(), 'nested.tar.gz');
    writeFileSync(file, gzipSync(inner));
    const error = await fx.install(file).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'UNSAFE_ARCHIVE',
      message: expect.stringMatching(/not a tar archive/),
    });
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [] });
  });

  it('fails a disk-full unpack as INSTALL_FAILED, leaving the previous version serving and nothing partial', async (context) => {
    const home = tempDir('pk-full-');
    if (process.getuid?.() !== 0) return context.skip('needs root to mount a 2 MB tmpfs as a full disk');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', home], { encoding: 'utf8' });
    if (mounted.status !== 0) return context.skip(`mount refused: ${mounted.stderr.trim()}`);
    onCleanup(() => spawnSync('umount', ['-l', home]));
    const fx = installFixture({ home });
    await fx.install(writeRecipe({ name: 'full', version: '1.0.0' }));

    // 4 MB of zeros: a few KB as .tar.gz, twice what the disk holds once unpacked.
    const big = rawTarball([
      ...recipeMembers('full').map((m) =>
        m.path === 'full/recipe.json'
          ? {
              ...m,
              body: JSON.stringify({ name: 'full', version: '2.0.0', capability: 'demo', entry: 'pod.py' }),
            }
          : m,
      ),
      { path: 'full/weights.bin', body: '\0'.repeat(4 * 1024 * 1024) },
    ]);
    const error = await fx.install(big).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INSTALL_FAILED', details: { errno: 'ENOSPC' } });
    expect((error as Error).message).toMatch(/No space left to unpack/);
    expect(leftovers(home)).toEqual({ staging: [], versions: [expect.stringMatching(/^full@1\.0\.0-/)] });
    expect(await fx.manager.call('full', 'still')).toMatchObject({ version: '1.0.0', input: 'still' });
  });

  it.each(['../outside.py', '/etc/passwd', 'lib/../../outside.py'])(
    'refuses an entry that points outside the recipe (%s), previous version serving',
    async (entry) => {
      const fx = installFixture();
      await fx.install(writeRecipe({ name: 'entry', version: '1.0.0' }));
      const file = rawTarball(
        recipeMembers('entry').map((m) =>
          m.path === 'entry/recipe.json'
            ? { ...m, body: JSON.stringify({ name: 'entry', version: '2.0.0', capability: 'demo', entry }) }
            : m,
        ),
      );
      const error = await fx.install(file).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_RECIPE', message: expect.stringMatching(/entry/) });
      expect(leftovers(fx.home)).toEqual({
        staging: [],
        versions: [expect.stringMatching(/^entry@1\.0\.0-/)],
      });
      expect(await fx.manager.call('entry', 1)).toMatchObject({ version: '1.0.0' });
    },
  );

  it('applies the same rules to a directory source', async () => {
    const fx = installFixture();
    const dir = writeRecipe({ name: 'dirlink' });
    symlinkSync('/etc', join(dir, 'etc'));
    const error = await fx.install(dir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSAFE_ARCHIVE', details: { member: 'etc' } });

    const clean = writeRecipe({ name: 'dirok', files: { 'lib/helper.py': 'X = 1\n' } });
    mkdirSync(join(clean, '__pycache__'));
    writeFileSync(join(clean, '__pycache__', 'junk.pyc'), 'junk');
    symlinkSync('lib/helper.py', join(clean, 'helper.py'));
    const summary = await fx.install(clean);
    expect(existsSync(join(summary.source, 'lib', 'helper.py'))).toBe(true);
    expect(existsSync(join(summary.source, '__pycache__', 'junk.pyc'))).toBe(false);
  });

  it('finds recipe.json at the top of an archive or in its single folder, and says when there is none', async () => {
    const fx = installFixture();
    const flat = rawTarball(
      recipeMembers('flat')
        .map((m) => ({ ...m, path: m.path.replace(/^flat\/?/, '') }))
        .filter((m) => m.path),
    );
    await fx.install(flat);
    expect(await fx.manager.call('flat', 2)).toBe(2);
    const empty = rawTarball([{ path: 'readme.txt', body: 'no recipe here' }]);
    await expect(fx.install(empty)).rejects.toMatchObject({
      code: 'INVALID_RECIPE',
      message: /holds no recipe\.json/,
    });
    const { file } = await packRecipe(writeRecipe({ name: 'nested' }));
    await fx.install(file);
    expect(leftovers(fx.home).versions).toHaveLength(2);
    void tempDir;
  });
});
