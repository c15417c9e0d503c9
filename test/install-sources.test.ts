/**
 * Installs from each kind of source (directory, .tar.gz, URL, index name), the integrity check,
 * refused manifests, and downloads that are cut off. Every remote source is a loopback server.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installHostOf } from '../src/daemon/install-host.js';
import { tempDir } from './helpers.js';
import {
  installFixture,
  leftovers,
  packRecipe,
  serveBytes,
  startServer,
  writeRecipe,
} from './install-helpers.js';

describe('install sources', () => {
  it('installs a directory: validated, smoke-started, served at once, every step reported', async () => {
    const fx = installFixture();
    const summary = await fx.install(writeRecipe({ name: 'greeter', version: '1.2.0' }));
    expect(summary).toMatchObject({ name: 'greeter', version: '1.2.0', builtin: false });
    expect(summary.source).toContain(join(fx.home, 'recipes', '.versions', 'greeter@1.2.0-'));
    expect(await fx.manager.call('greeter', { hi: 1 })).toMatchObject({ version: '1.2.0', input: { hi: 1 } });
    const steps = [...new Set(fx.progress.map((event) => event.step))];
    expect(steps).toEqual(['fetch', 'validate', 'env', 'smoke', 'activate', 'done']);
    expect((await fx.manager.recipes()).find((r) => r.recipe.name === 'greeter')).toMatchObject({
      builtin: false,
      install: { source: expect.stringContaining('greeter') },
    });
    expect(leftovers(fx.home)).toEqual({
      staging: [],
      versions: [expect.stringMatching(/^greeter@1\.2\.0-/)],
    });
  });

  it('installs a .tar.gz file, checking its sha256 when given', async () => {
    const fx = installFixture();
    const { file, sha256 } = await packRecipe(writeRecipe({ name: 'packed' }));
    await fx.install(file, { sha256 });
    expect(await fx.manager.call('packed', 'x')).toMatchObject({ name: 'packed', input: 'x' });
    expect(fx.progress).toContainEqual({ step: 'verify', progress: 1, message: `sha256 ${sha256}` });
    expect((await fx.manager.recipes()).find((r) => r.recipe.name === 'packed')?.install?.sha256).toBe(
      sha256,
    );
  });

  it('installs an http URL only with a sha256 (or --insecure)', async () => {
    const fx = installFixture();
    const server = await startServer();
    const { file, sha256 } = await packRecipe(writeRecipe({ name: 'remote' }));
    server.file('/remote.tar.gz', readFileSync(file));
    const url = `${server.url}/remote.tar.gz?token=secret`;

    const refused = await fx.install(url).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'INSTALL_FAILED',
      message: expect.stringMatching(/--sha256.*--insecure/),
    });
    expect((refused as Error).message).not.toContain('secret');
    expect(server.hits).toEqual([]);

    await fx.install(url, { sha256 });
    expect(await fx.manager.call('remote', 1)).toMatchObject({ name: 'remote' });
    const fetch = fx.progress.filter((event) => event.step === 'fetch');
    expect(fetch.at(-1)).toMatchObject({ progress: 1, message: expect.stringMatching(/^downloaded /) });

    await fx.install(url, { insecure: true });
    expect(server.hits).toEqual(['GET /remote.tar.gz', 'GET /remote.tar.gz']);
  });

  it('installs a name from the index: the highest version, or name@version; relative urls', async () => {
    const server = await startServer();
    const entries = [];
    for (const version of ['1.0.0', '1.10.0', '1.9.0']) {
      const { file, sha256 } = await packRecipe(writeRecipe({ name: 'indexed', version }));
      server.file(`/dl/indexed-${version}.tar.gz`, readFileSync(file));
      entries.push({
        name: 'indexed',
        version,
        capability: 'demo',
        url: `dl/indexed-${version}.tar.gz`,
        sha256,
      });
    }
    server.file('/index.json', JSON.stringify({ version: 1, recipes: entries }));
    const fx = installFixture({ indexUrl: `${server.url}/index.json` });

    await fx.install('indexed');
    expect(await fx.manager.call('indexed', null)).toMatchObject({ version: '1.10.0' });
    await fx.install('indexed@1.0.0');
    expect(await fx.manager.call('indexed', null)).toMatchObject({ version: '1.0.0' });

    const missing = await fx.install('nothing-here').catch((error: unknown) => error);
    expect(missing).toMatchObject({
      code: 'UNKNOWN_TARGET',
      message: expect.stringMatching(/lists indexed/),
    });
    const noVersion = await fx.install('indexed@7.0.0').catch((error: unknown) => error);
    expect((noVersion as Error).message).toMatch(/lists indexed at 1\.0\.0, 1\.10\.0, 1\.9\.0/);
    expect(leftovers(fx.home).versions).toHaveLength(1);
  });

  it('installs a name from an index on disk, a relative url naming a file beside it', async () => {
    const dir = tempDir('pk-index-');
    const { file, sha256 } = await packRecipe(writeRecipe({ name: 'local-indexed', version: '0.3.0' }), dir);
    const index = {
      version: 1,
      recipes: [
        {
          name: 'local-indexed',
          version: '0.3.0',
          capability: 'demo',
          url: file.slice(dir.length + 1),
          sha256,
        },
      ],
    };
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    const fx = installFixture({ indexUrl: join(dir, 'index.json') });
    await fx.install('local-indexed@0.3.0');
    expect(await fx.manager.call('local-indexed', 1)).toMatchObject({ version: '0.3.0' });
    expect((await fx.manager.recipes()).find((r) => r.recipe.name === 'local-indexed')?.install?.source).toBe(
      `local-indexed@0.3.0 (${file})`,
    );
    // The index's sha256 is checked for a local file too.
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({ ...index, recipes: [{ ...index.recipes[0], sha256: 'ef'.repeat(32) }] }),
    );
    await expect(fx.install('local-indexed')).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
  });

  it('refuses an archive whose sha256 differs: INTEGRITY_ERROR with both digests, nothing installed', async () => {
    const fx = installFixture();
    const server = await startServer();
    const { file, sha256 } = await packRecipe(writeRecipe({ name: 'tampered' }));
    server.file('/t.tar.gz', readFileSync(file));
    const wrong = 'ab'.repeat(32);
    const error = await fx.install(`${server.url}/t.tar.gz`, { sha256: wrong }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INTEGRITY_ERROR', details: { expected: wrong, actual: sha256 } });
    expect((error as Error).message).toContain(wrong);
    expect((error as Error).message).toContain(sha256);
    await expect(fx.manager.call('tampered', 1)).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [] });
  });

  it.each([
    ['a missing entry', { entry: undefined }, /entry: /],
    ['an unknown field', { colour: 'red' }, /unknown field "colour"/],
    ['an entry file that does not exist', { entry: 'missing.py' }, /entry: "missing.py" does not exist/],
  ])('refuses a manifest with %s (INVALID_RECIPE naming the field)', async (_what, manifest, message) => {
    const fx = installFixture();
    const { file } = await packRecipe(writeRecipe({ name: 'broken', manifest }));
    const error = await fx.install(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_RECIPE' });
    expect((error as Error).message).toMatch(message);
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [] });
  });

  it('retries a download cut off halfway and resumes it with a Range request', async () => {
    const fx = installFixture();
    const server = await startServer();
    const { file, sha256 } = await packRecipe(
      writeRecipe({ name: 'flaky', files: { 'padding.txt': 'x'.repeat(200_000) } }),
    );
    const body = readFileSync(file);
    let served = 0;
    const ranges: (string | undefined)[] = [];
    server.route('/flaky.tar.gz', (request, response) => {
      served += 1;
      ranges.push(request.headers.range);
      if (served > 1) return serveBytes(request, response, body);
      response.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes' });
      // The half is on its way before the connection drops (so there is something to resume from).
      response.write(body.subarray(0, Math.floor(body.length / 2)), () =>
        setTimeout(() => response.socket?.destroy(), 300),
      );
    });
    await fx.install(`${server.url}/flaky.tar.gz`, { sha256 });
    expect(await fx.manager.call('flaky', 1)).toMatchObject({ name: 'flaky' });
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(fx.progress).toContainEqual(
      expect.objectContaining({ step: 'fetch', message: expect.stringMatching(/in 2 attempts, resumed/) }),
    );
  });

  it('gives up on a download that is always cut off: INSTALL_FAILED, nothing left behind', async () => {
    const fx = installFixture();
    const server = await startServer();
    const { file, sha256 } = await packRecipe(writeRecipe({ name: 'cut' }));
    const body = readFileSync(file);
    server.route('/cut.tar.gz', (_request, response) => {
      response.writeHead(200, { 'content-length': String(body.length) });
      response.write(body.subarray(0, Math.floor(body.length / 2)), () => response.socket?.destroy());
    });
    const error = await fx.install(`${server.url}/cut.tar.gz`, { sha256 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INSTALL_FAILED', details: { attempts: 3 } });
    expect((error as Error).message).toMatch(/cut off after \d+ of \d+ bytes/);
    expect(leftovers(fx.home)).toEqual({ staging: [], versions: [] });
  });

  it('fails at once on a 404 and refuses a download over the size bound', async () => {
    const fx = installFixture();
    const server = await startServer();
    const missing = await fx
      .install(`${server.url}/nope.tar.gz`, { insecure: true })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'INSTALL_FAILED', message: expect.stringMatching(/HTTP 404/) });
    expect(server.hits).toEqual(['GET /nope.tar.gz']);

    const { manager } = fx;
    const { RecipeInstaller } = await import('../src/install/installer.js');
    const small = new RecipeInstaller({ host: installHostOf(manager), maxArchiveMB: 0.01 });
    server.file('/big.tar.gz', Buffer.alloc(64 * 1024));
    const big = await small
      .install({ source: `${server.url}/big.tar.gz`, insecure: true })
      .catch((e: unknown) => e);
    expect(big).toMatchObject({ code: 'UNSAFE_ARCHIVE', message: expect.stringMatching(/larger than/) });
  });

  it('refuses a source that is neither a path, a URL nor a name, and --sha256 on a directory', async () => {
    const fx = installFixture();
    await expect(fx.install('./no/such/dir')).rejects.toMatchObject({ code: 'INSTALL_FAILED' });
    await expect(fx.install('ftp://example.invalid/x.tar.gz')).rejects.toMatchObject({
      code: 'INSTALL_FAILED',
    });
    const dir = writeRecipe({ name: 'plain' });
    await expect(fx.install(dir, { sha256: 'ab'.repeat(32) })).rejects.toMatchObject({
      code: 'INSTALL_FAILED',
      message: expect.stringMatching(/applies to archives/),
    });
    const notTar = join(tempDir(), 'x.tar.gz');
    writeFileSync(notTar, 'not a tarball');
    await expect(fx.install(notTar)).rejects.toMatchObject({ code: 'UNSAFE_ARCHIVE' });
    expect(existsSync(join(fx.home, 'recipes', 'plain'))).toBe(false);
  });
});
