/**
 * Prefetch of a recipe's `model` at install time, downloaded by huggingface_hub (installed from the
 * package registry into the recipe's env: online) from a loopback server that plays the Hub's few
 * endpoints (HF_ENDPOINT). The pod gets the snapshot's local path as ctx.model; HF_TOKEN reaches
 * the server and nothing else. The `files` prefetch, offline, is in test/install-prefetch.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ManagerEvent } from '../../src/index.js';
import { recordEvents } from '../helpers.js';
import {
  fakeHub,
  type InstallFixture,
  installFixture,
  startServer,
  type TestServer,
  writeRecipe,
} from '../install-helpers.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const TOKEN = 'hf_test_secret_token_42';
const ENV_BUILD_MS = 240_000;

const MODEL_FILES: Record<string, string | Buffer> = {
  'config.json': JSON.stringify({ model_type: 'tiny', hidden_size: 8 }),
  'weights/tiny.bin': 'w'.repeat(4096),
};

const MODEL_POD = `import os

def setup(ctx):
    with open(os.path.join(ctx.model, "config.json")) as f:
        ctx.state["config"] = f.read()

def process(payload, ctx):
    return {"model": ctx.model, "config": ctx.state["config"],
            "weights": os.path.getsize(os.path.join(ctx.model, "weights", "tiny.bin"))}
`;

function modelRecipe(version: string, revision?: string): string {
  return writeRecipe({
    name: 'hub-model',
    version,
    manifest: {
      model: 'acme/tiny-model',
      ...(revision ? { revision } : {}),
      dependencies: ['huggingface_hub'],
    },
    code: MODEL_POD,
  });
}

function hubRequests(server: TestServer): string[] {
  return server.hits.filter((hit) => hit.includes('/api/') || hit.includes('/resolve/'));
}

function everything(fx: InstallFixture, events: ManagerEvent[]): string {
  return JSON.stringify([
    fx.progress,
    events,
    readFileSync(join(fx.home, 'recipes', 'hub-model', '.podkeeper-install.json'), 'utf8'),
  ]);
}

describe('prefetch at install time', () => {
  it('downloads the model at its pinned revision with HF_TOKEN, hands the pod its path, and skips it when cached', {
    timeout: ENV_BUILD_MS,
  }, async () => {
    const server = await startServer();
    fakeHub(server, 'acme/tiny-model', { commit: COMMIT, files: MODEL_FILES, token: TOKEN });
    const fx = installFixture({
      env: { HF_ENDPOINT: server.url, HF_TOKEN: TOKEN, HF_HUB_DISABLE_TELEMETRY: '1' },
      envMode: 'venv',
    });
    const events = recordEvents(fx.manager);

    await fx.install(modelRecipe('1.0.0', COMMIT));
    const answer = (await fx.manager.call('hub-model', {})) as {
      model: string;
      config: string;
      weights: number;
    };
    expect(answer.model).toBe(
      join(fx.home, 'models', 'huggingface', 'models--acme--tiny-model', 'snapshots', COMMIT),
    );
    expect(JSON.parse(answer.config)).toEqual({ model_type: 'tiny', hidden_size: 8 });
    expect(answer.weights).toBe(4096);
    expect(hubRequests(server)).toEqual(
      expect.arrayContaining([
        `GET /api/models/acme/tiny-model/tree/${COMMIT}`,
        `GET /${'acme/tiny-model'}/resolve/${COMMIT}/config.json`,
      ]),
    );
    expect(fx.progress).toContainEqual(
      expect.objectContaining({
        step: 'prefetch',
        progress: 1,
        message: expect.stringMatching(/downloaded$/),
      }),
    );

    // An upgrade with the same model and revision finds it in the cache: no request at all.
    const before = hubRequests(server).length;
    await fx.install(modelRecipe('1.0.1', COMMIT));
    expect(hubRequests(server).length).toBe(before);
    expect(fx.progress).toContainEqual(
      expect.objectContaining({ step: 'prefetch', message: expect.stringMatching(/already cached$/) }),
    );
    expect(await fx.manager.call('hub-model', {})).toMatchObject({ model: answer.model });
    expect(everything(fx, events)).not.toContain(TOKEN);

    // Removing releases its env: gc takes it now that no recipe needs it.
    const env = events.find((e) => e.event === 'env.built' && e.recipe === 'hub-model') as { hash: string };
    await fx.installer.remove('hub-model');
    expect((await fx.manager.gc()).removed).toContain(env.hash);
    expect(existsSync(join(fx.home, 'envs', env.hash))).toBe(false);
  });

  it('resolves and records an unpinned revision; a refused token fails the install without showing it', {
    timeout: ENV_BUILD_MS,
  }, async () => {
    const server = await startServer();
    fakeHub(server, 'acme/tiny-model', { commit: COMMIT, files: MODEL_FILES, token: TOKEN });
    const fx = installFixture({ env: { HF_ENDPOINT: server.url, HF_TOKEN: TOKEN } });
    await fx.install(modelRecipe('2.0.0'));
    const installed = (await fx.manager.recipes()).find((r) => r.recipe.name === 'hub-model');
    expect(installed?.install?.model).toMatchObject({
      repo: 'acme/tiny-model',
      revision: 'main',
      commit: COMMIT,
    });
    expect(fx.progress).toContainEqual(
      expect.objectContaining({
        message: `no revision pinned: recorded acme/tiny-model at commit ${COMMIT}`,
      }),
    );

    const denied = installFixture({ env: { HF_ENDPOINT: server.url, HF_TOKEN: 'hf_wrong_token_1234' } });
    const error = await denied.install(modelRecipe('2.0.1', COMMIT)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INSTALL_FAILED', details: { step: 'prefetch' } });
    expect((error as Error).message).not.toContain('hf_wrong_token_1234');
    await expect(denied.manager.call('hub-model', {})).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
  });
});
