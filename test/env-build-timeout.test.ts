/**
 * An env command that outlives `envBuildTimeout` (a slow index, a huge download) is killed, and the
 * error says so: raise `--env-build-timeout`, naming the value in force. It must not blame a
 * requirement, which is fine. The "slow link" is a real package index on 127.0.0.1 that accepts
 * connections and never answers; the installer is the real uv.
 */
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { envBuildFailed } from '../src/env/failure.js';
import { PodkeeperError } from '../src/errors.js';
import { writeRecipe } from './fixtures/env/helpers.js';
import { createManager, onCleanup, tempDir } from './helpers.js';

/** A TCP server on 127.0.0.1 that takes connections and never writes a byte; returns its URL. */
async function stallingIndex(): Promise<string> {
  const held = new Set<Socket>();
  const server = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of held) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}/simple`;
}

describe('env build timeout', () => {
  it('a uv command stalled past envBuildTimeout says to raise --env-build-timeout, blaming no requirement', async () => {
    const index = await stallingIndex();
    const recipes = writeRecipe(tempDir(), { name: 'stalled', dependencies: ['pk-slow-package>=1'] });
    const manager = createManager({
      recipePath: [recipes],
      envMode: 'venv',
      envBuildTimeout: 2,
      env: {
        UV_INDEX_URL: index,
        UV_DEFAULT_INDEX: index,
        UV_NO_CONFIG: '1',
        UV_CACHE_DIR: tempDir('podkeeper-uv-cache-'),
        UV_HTTP_TIMEOUT: '120',
      },
    });
    const error = await manager.call('stalled', {}).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PodkeeperError);
    const failure = error as PodkeeperError;
    expect(failure.code).toBe('ENV_BUILD_FAILED');
    expect(failure.message).toMatch(/timed out after 2 s/);
    expect(failure.message).toMatch(/Raise `--env-build-timeout` \(now 2 s per command/);
    expect(failure.message).not.toMatch(/Failing requirement/);
    expect(failure.details).toMatchObject({ timedOut: true, timeoutSeconds: 2 });
    expect(failure.details).not.toHaveProperty('requirement');
  });
});

describe('envBuildFailed', () => {
  it('a timed-out command whose output names a requirement (a download in progress) still blames the limit', () => {
    const error = envBuildFailed(
      {
        recipe: 'embeddings',
        requirements: ['torch>=2', 'sentence-transformers>=2.2,<4'],
        step: 'installing',
      },
      {
        command: '/usr/bin/uv',
        args: ['pip', 'install', 'torch>=2', 'sentence-transformers>=2.2,<4'],
        exitCode: null,
        signal: 'SIGTERM',
        stdout: '',
        outputTail: ['Downloading sentence-transformers (1.2MiB)', 'Downloading torch (887.5MiB)'],
        durationMs: 300_000,
        timeoutMs: 300_000,
        timedOut: true,
        aborted: false,
      },
    );
    expect(error.message).not.toMatch(/Failing requirement/);
    expect(error.message).toMatch(/Raise `--env-build-timeout` \(now 300 s per command/);
    expect(error.details).not.toHaveProperty('requirement');
  });
});
