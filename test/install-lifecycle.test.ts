/**
 * Atomic installs: upgrades keep the old version until the new one passes its smoke start, a failed
 * upgrade leaves the old one serving (rollback), remove stops the pods, concurrent installs of one
 * recipe take turns, and leftovers of interrupted installs go at the next start.
 */
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installHostOf } from '../src/daemon/install-host.js';
import { RecipeInstaller } from '../src/install/installer.js';
import type { RequestEvent } from '../src/protocol/pod.js';
import { eventually, recordEvents, sleep, tempDir } from './helpers.js';
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
    const again = new RecipeInstaller({ host: installHostOf(fx.manager) });
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

  describe('drain: the old version finishes its calls in flight', () => {
    /**
     * A recipe whose `stream` action yields `chunks` chunks, each naming its version: the first at
     * once, the others only once the file `gate` exists (the test opens it when it has seen what it
     * must see while the stream is held).
     */
    const streaming = (version: string) =>
      writeRecipe({
        name: 'svc',
        version,
        code: [
          'import os',
          'import time',
          '',
          `VERSION = ${JSON.stringify(version)}`,
          'ACTIONS = ("stream",)',
          '',
          'def process(payload, ctx):',
          '    return {"version": VERSION}',
          '',
          'def stream(payload, ctx):',
          '    for index in range(payload["chunks"]):',
          '        while index > 0 and not os.path.exists(payload["gate"]):',
          '            time.sleep(0.01)',
          '        yield {"index": index, "version": VERSION}',
          '',
        ].join('\n'),
      });

    /** Starts a 5-chunk stream and waits for its first chunk; `open()` lets the rest come. */
    async function streamCall(fx: ReturnType<typeof installFixture>) {
      const chunks: unknown[] = [];
      const gate = join(tempDir(), 'gate');
      const onEvent = (event: RequestEvent) => {
        if (event.type === 'chunk') chunks.push(event.data);
      };
      const call = fx.manager.call('svc', { chunks: 5, gate }, { action: 'stream', onEvent }).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      expect(await eventually(() => chunks.length > 0, 5000, 5)).toBe(true);
      return { call, chunks, open: () => writeFileSync(gate, '') };
    }

    /** Resolves once the catalog serves `version` of svc, or none (the swap is done; the drain may go on). */
    async function servesVersion(
      fx: ReturnType<typeof installFixture>,
      version: string | undefined,
    ): Promise<void> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const svc = (await fx.manager.recipes()).find((loaded) => loaded.recipe.name === 'svc');
        if (svc?.recipe.version === version) return;
        if (Date.now() > deadline) {
          throw new Error(
            `svc still serves ${svc?.recipe.version ?? 'nothing'} after 10 s, not ${version ?? 'nothing'}`,
          );
        }
        await sleep(10); // polls the condition above
      }
    }

    it('an upgrade lets a streaming call finish on the old pod while new calls reach the new version at once', async () => {
      const fx = installFixture();
      const events = recordEvents(fx.manager);
      await fx.install(streaming('1.0.0'));
      const { call, chunks, open } = await streamCall(fx);
      const [oldPod] = await fx.manager.list();
      let installed = false;
      const upgrade = fx.install(streaming('2.0.0')).then(() => {
        installed = true;
      });
      await servesVersion(fx, '2.0.0');
      expect(await fx.manager.call('svc', null)).toEqual({ version: '2.0.0' });
      expect(chunks).toHaveLength(1); // the new version answered while the old one's stream was held
      open();
      const outcome = await call;
      expect(outcome).toEqual({ result: null });
      expect(chunks).toEqual([0, 1, 2, 3, 4].map((index) => ({ index, version: '1.0.0' })));
      await upgrade;
      expect(installed).toBe(true);
      expect(events).toContainEqual(expect.objectContaining({ event: 'pod.stopped', podId: oldPod?.id }));
      expect((await fx.manager.list()).map((pod) => pod.id)).not.toContain(oldPod?.id);
      expect(leftovers(fx.home).versions).toEqual([expect.stringMatching(/^svc@2\.0\.0-/)]);
    });

    it('a remove lets the call in flight finish; new calls answer UNKNOWN_TARGET at once', async () => {
      const fx = installFixture();
      await fx.install(streaming('1.0.0'));
      const { call, chunks, open } = await streamCall(fx);
      const removed = fx.installer.remove('svc');
      await servesVersion(fx, undefined);
      await expect(fx.manager.call('svc', null)).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
      expect(chunks).toHaveLength(1); // refused while the call in flight was held
      open();
      expect(await call).toEqual({ result: null });
      expect(chunks).toHaveLength(5);
      await removed;
      expect(await fx.manager.list()).toEqual([]);
      expect(leftovers(fx.home)).toEqual({ staging: [], versions: [] });
    });

    it('a call that outlasts the drain timeout is stopped (SHUTTING_DOWN) and the upgrade completes', async () => {
      const fx = installFixture({ drainTimeout: 0.3 });
      await fx.install(streaming('1.0.0'));
      const { call } = await streamCall(fx); // never opened: the stream would last forever
      await fx.install(streaming('2.0.0')); // so this returning at all shows it was not waited for
      expect(await call).toMatchObject({ error: { code: 'SHUTTING_DOWN' } });
      expect(await fx.manager.call('svc', null)).toEqual({ version: '2.0.0' });
    });
  });
});
