/**
 * Installs through a real daemon: the CLI shows the install's progress, a new install is served at
 * once, and a daemon killed (SIGKILL) in the middle of an upgrade leaves the previous version
 * answering and no partial folder; the next daemon removes the staging leftovers.
 */
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawConnect, runCli, startDaemon } from './daemon-helpers.js';
import { eventually, ourProcesses, tempDir } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

describe('installs through the daemon', () => {
  it('shows progress on the CLI, serves the install at once, and survives a kill -9 mid-upgrade', {
    timeout: 90_000,
  }, async () => {
    const daemon = await startDaemon();
    const at = ['--home', daemon.home];
    const v1 = writeRecipe({ name: 'killme', version: '1.0.0' });

    const installed = await runCli(['install', v1, ...at]);
    expect(installed).toMatchObject({ code: 0, stdout: 'installed killme 1.0.0 (killme-capability)\n' });
    expect(installed.stderr).toMatch(/^validate 100% killme 1\.0\.0/m);
    expect(installed.stderr).toMatch(/^smoke 100% ready in \d+ ms/m);
    expect(JSON.parse((await runCli(['call', 'killme', '{"n":1}', ...at])).stdout)).toMatchObject({
      version: '1.0.0',
    });
    const listed = JSON.parse((await runCli(['recipes', '--json', ...at])).stdout) as {
      recipes: { name: string; builtin: boolean }[];
    };
    expect(listed.recipes).toContainEqual(expect.objectContaining({ name: 'killme', builtin: false }));

    // v2's setup announces itself, then takes its time: the daemon dies during the smoke start.
    const marker = join(tempDir(), 'v2-setup-started');
    const v2 = writeRecipe({
      name: 'killme',
      version: '2.0.0',
      code: [
        'import pathlib, time',
        '',
        'def setup(ctx):',
        `    pathlib.Path(${JSON.stringify(marker)}).write_text("started")`,
        '    time.sleep(60)',
        '',
        'def process(payload, ctx):',
        '    return {"version": "2.0.0"}',
        '',
      ].join('\n'),
    });
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'up', action: 'recipes.install', payload: { source: v2 } });
    await client.waitFor((line) => line['event'] === 'install.progress' && line['step'] === 'smoke', 20_000);
    expect(await eventually(() => existsSync(marker), 20_000)).toBe(true);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    expect(await eventually(() => ourProcesses().length === 0, 5000)).toBe(true);

    // The previous version is whole and linked; the killed install left only its staging folder.
    const versions = readdirSync(join(daemon.home, 'recipes', '.versions'));
    expect(versions).toEqual([expect.stringMatching(/^killme@1\.0\.0-/)]);
    expect(readlinkSync(join(daemon.home, 'recipes', 'killme'))).toBe(`.versions/${versions[0]}`);
    expect(readdirSync(join(daemon.home, 'staging'))).toHaveLength(1);

    const again = await startDaemon({ home: daemon.home });
    expect(JSON.parse((await runCli(['call', 'killme', '{}', ...at])).stdout)).toMatchObject({
      version: '1.0.0',
    });
    expect(await eventually(() => readdirSync(join(again.home, 'staging')).length === 0, 5000)).toBe(true);

    const removed = await runCli(['remove', 'killme', ...at]);
    expect(removed.code).toBe(0);
    const gone = await runCli(['call', 'killme', '{}', ...at]);
    expect(gone).toMatchObject({ code: 1, stderr: expect.stringMatching(/^UNKNOWN_TARGET: /) });
  });
});
