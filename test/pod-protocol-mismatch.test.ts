/**
 * A runner from another podkeeper version: its `ready` names pod protocol 1 (the version before
 * binary frames), and the pod fails at once with PROTOCOL_MISMATCH naming both versions and where
 * the other copy comes from, not after its ready timeout. The runner is the real one, copied with
 * its version changed into a folder that a launcher's wrapper puts first on the pod's PYTHONPATH
 * (`env PYTHONPATH=…`), as a container image or another host with another podkeeper's runner does.
 * (A copy in the recipe's own folder is never imported: test/recipe-pythonpath.test.ts.)
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/index.js';
import { PODS_DIR } from '../src/paths.js';
import { startDaemon } from './daemon-helpers.js';
import { createManager, onCleanup, recordEvents, tempDir } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

const RUNNER = join(PODS_DIR, 'podkeeper_pod');

/** A folder holding a copy of the runner that speaks pod protocol 1. */
function oldRunner(): string {
  const root = tempDir('pk-old-runner-');
  const copy = join(root, 'podkeeper_pod');
  mkdirSync(copy);
  cpSync(RUNNER, copy, { recursive: true, filter: (path) => !path.includes('__pycache__') });
  const protocol = join(copy, 'protocol.py');
  const source = readFileSync(protocol, 'utf8');
  expect(source).toContain('PROTOCOL_VERSION = 2\n');
  writeFileSync(protocol, source.replace('PROTOCOL_VERSION = 2\n', 'PROTOCOL_VERSION = 1\n'));
  return root;
}

/** The recipes' root, the launchers and the placement of a recipe whose pods import the old runner. */
function withOldRunner(locality: 'local' | 'remote') {
  // A long ready timeout: on a daemon without the handshake the call waits all of it.
  const recipes = dirname(writeRecipe({ name: 'old-runner', manifest: { readyTimeout: 20 } }));
  const argv = ['env', `PYTHONPATH=${oldRunner()}`];
  return {
    recipes,
    launchers: { wrapped: { kind: 'command' as const, argv, locality } },
    placement: { 'old-runner': 'wrapped' },
  };
}

describe('a pod whose runner speaks another pod-protocol version', () => {
  it('fails the call at once with PROTOCOL_MISMATCH naming both versions and where the other copy comes from', async () => {
    const { recipes, launchers, placement } = withOldRunner('local');
    const manager = createManager({ recipePath: [recipes], launchers, placement });
    const events = recordEvents(manager);
    const error = await manager.call('old-runner', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'PROTOCOL_MISMATCH',
      details: { protocol: 1, expected: 2, launcher: 'wrapped', recipe: 'old-runner' },
    });
    const { message } = error as Error;
    expect(message).toMatch(
      /recipe "old-runner"\): its runner speaks pod protocol 1, and this podkeeper speaks 2/,
    );
    expect(message).toContain(`The daemon puts its own (${RUNNER}) first on the pod's PYTHONPATH`);
    expect(message).toContain('a wrapper that sets PYTHONPATH itself');
    expect(events.filter((event) => event.event === 'pod.ready')).toEqual([]);
    expect(await manager.list()).toEqual([]);
  });

  it('reaches a client of the daemon with its code and facts', async () => {
    const { recipes, launchers, placement } = withOldRunner('remote');
    const daemon = await startDaemon({
      env: { PODKEEPER_RECIPE_PATH: recipes },
      config: { launchers, placement },
    });
    const client = await connect({ socket: daemon.socket });
    onCleanup(() => client.close());
    const error = await client.call('old-runner', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'PROTOCOL_MISMATCH',
      message: expect.stringMatching(
        /its runner speaks pod protocol 1, and this podkeeper speaks 2.*in a container \(launcher "wrapped"\) imports the runner installed there/s,
      ),
      details: { protocol: 1, expected: 2 },
    });
  });
});
