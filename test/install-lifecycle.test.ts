/**
 * Atomic installs: upgrades keep the old version until the new one passes its smoke start, a failed
 * upgrade leaves the old one serving (rollback), remove stops the pods, concurrent installs of one
 * recipe take turns, and leftovers of interrupted installs go at the next start.
 */
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecipeInstaller } from '../src/recipes/install/installer.js';
import { recordEvents } from './helpers.js';
import { installFixture, leftovers, packRecipe, writeRecipe } from './install-helpers.js';

describe('install, upgrade, rollback, remove', () => {
  it('upgrades: the old pod serves until the new version passes, then stops; a failing upgrade rolls back', async () => {
    const fx = installFixture();
    const events = recordEvents(fx.manager);
    await fx.install(writeRecipe({ name: 'svc', version: '1.0.0' }));
    expect(await fx.manager.call('svc', 'a')).toMatchObject({ version: '1.0.0' });
    const [v1Pod] = await fx.manager.list();

    await fx.install(writeRecipe({ name: 'svc', version: '2.0.0' }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'pod.stopped', podId: v1Pod?.id }));
    expect(await fx.manager.call('svc', 'b')).toMatchObject({ version: '2.0.0' });
    const [v2Pod] = await fx.manager.list();
    expect(v2Pod?.id).not.toBe(v1Pod?.id);
    expect(leftovers(fx.home).versions).toEqual([expect.stringMatching(/^svc@2\.0\.0-/)]);

    const broken = writeRecipe({
      name: 'svc',
      version: '3.0.0',
      code: 'def setup(ctx):\n    raise RuntimeError("v3 cannot load its model")\n\ndef process(payload, ctx):\n    return payload\n',
    });
    const error = await fx.install(broken).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INSTALL_FAILED', details: { step: 'smoke' } });
    expect((error as Error).message).toMatch(/v3 cannot load its model/);
    // The v2 pod was never touched, and answers as before.
    expect(await fx.manager.call('svc', 'c')).toMatchObject({ version: '2.0.0' });
    expect((await fx.manager.list()).map((pod) => pod.id)).toEqual([v2Pod?.id]);
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [expect.stringMatching(/^svc@2\.0\.0-/)] });

    // Rolling back is installing the older version again.
    await fx.install(writeRecipe({ name: 'svc', version: '1.0.0' }));
    expect(await fx.manager.call('svc', 'd')).toMatchObject({ version: '1.0.0' });
  });

  it('removes: its pod stops, calls answer UNKNOWN_TARGET, its env is released; built-ins stay', async () => {
    const fx = installFixture();
    await fx.install(writeRecipe({ name: 'gone' }));
    expect(await fx.manager.call('gone', 1)).toMatchObject({ name: 'gone' });
    expect(await fx.manager.list()).toHaveLength(1);

    await fx.installer.remove('gone');
    expect(await fx.manager.list()).toEqual([]);
    await expect(fx.manager.call('gone', 1)).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    expect((await fx.manager.recipes()).map((r) => r.recipe.name)).not.toContain('gone');
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [] });

    await expect(fx.installer.remove('gone')).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    await expect(fx.installer.remove('echo')).rejects.toMatchObject({
      code: 'INSTALL_FAILED',
      message: expect.stringMatching(/built in/),
    });
    await expect(fx.installer.remove('stream')).rejects.toMatchObject({
      message: expect.stringMatching(/recipe path/),
    });
    await expect(fx.installer.remove('../../etc')).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
  });

  it('shadows a built-in recipe while installed, and falls back to it once removed', async () => {
    const fx = installFixture();
    await fx.install(writeRecipe({ name: 'echo', version: '9.0.0' }));
    expect(await fx.manager.call('echo', 'x')).toMatchObject({ version: '9.0.0' });
    await fx.installer.remove('echo');
    expect(await fx.manager.call('echo', 'x')).toBe('x');
  });

  it('takes turns on concurrent installs of one recipe; the last one wins, nothing is left over', async () => {
    const fx = installFixture();
    const sources = await Promise.all(
      ['1.0.0', '2.0.0', '3.0.0'].map(
        async (version) => (await packRecipe(writeRecipe({ name: 'race', version }))).file,
      ),
    );
    const results = await Promise.all(sources.map((source) => fx.install(source)));
    expect(results.map((r) => r.version).sort()).toEqual(['1.0.0', '2.0.0', '3.0.0']);
    expect(fx.progress.filter((event) => event.step === 'wait')).toHaveLength(2);
    // Smoke starts never overlapped: each began after the previous install was done.
    const order = fx.progress
      .filter((event) => event.step === 'smoke' || event.step === 'done')
      .map((e) => e.step);
    expect(order).toEqual(['smoke', 'smoke', 'done', 'smoke', 'smoke', 'done', 'smoke', 'smoke', 'done']);
    const served = (await fx.manager.recipes()).find((r) => r.recipe.name === 'race');
    const last = results.find((r) => r.source === served?.dir);
    expect(last).toBeDefined();
    expect(await fx.manager.call('race', null)).toMatchObject({ version: last?.version });
    expect(leftovers(fx.home)).toEqual({
      staging: [],
      versions: [expect.stringMatching(`^race@${last?.version}-`)],
    });
  });

  it('cleans what an interrupted install left behind when the next installer starts', async () => {
    const fx = installFixture();
    await fx.install(writeRecipe({ name: 'kept' }));
    const deadPid = 2 ** 22 + 17;
    mkdirSync(join(fx.home, 'staging', `${deadPid}-abcd`, 'unpacked'), { recursive: true });
    mkdirSync(join(fx.home, 'recipes', '.versions', 'orphan@1.0.0-1234'), { recursive: true });
    writeFileSync(join(fx.home, 'recipes', '.versions', 'orphan@1.0.0-1234', 'recipe.json'), '{}');
    const again = new RecipeInstaller({ host: fx.manager });
    await again.ready;
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [expect.stringMatching(/^kept@1\.0\.0-/)] });
    expect(readlinkSync(join(fx.home, 'recipes', 'kept'))).toMatch(/^\.versions\/kept@1\.0\.0-/);
    expect(await fx.manager.call('kept', 1)).toMatchObject({ name: 'kept' });
  });

  it('a cancelled install leaves nothing behind', async () => {
    const fx = installFixture();
    const slow = writeRecipe({
      name: 'slowpoke',
      code: 'import time\n\ndef setup(ctx):\n    time.sleep(20)\n\ndef process(payload, ctx):\n    return payload\n',
    });
    const controller = new AbortController();
    const install = fx.installer.install({
      source: slow,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.step === 'smoke' && event.progress === undefined) setTimeout(() => controller.abort(), 300);
      },
    });
    await expect(install).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [] });
    expect(await fx.manager.list()).toEqual([]);
  });
});
