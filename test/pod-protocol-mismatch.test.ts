/**
 * A runner from another podkeeper version: its `ready` names pod protocol 1 (the version before
 * binary frames), and the pod fails at once with PROTOCOL_MISMATCH naming both versions and the fix,
 * not after its ready timeout. The runner is the real one, copied into the recipe's folder with its
 * version changed: there it shadows the daemon's copy, as a recipe carrying its own copy does.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/client/index.js';
import { PODS_DIR } from '../src/paths.js';
import { startDaemon } from './daemon-helpers.js';
import { createManager, onCleanup, recordEvents } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

const RUNNER = join(PODS_DIR, 'podkeeper_pod');

/** A recipe folder holding a copy of the runner that speaks pod protocol 1; answers its root. */
function recipeWithOldRunner(): string {
  // A long ready timeout: on a daemon without the handshake the call waits all of it.
  const dir = writeRecipe({ name: 'old-runner', manifest: { readyTimeout: 20 } });
  const copy = join(dir, 'podkeeper_pod');
  cpSync(RUNNER, copy, { recursive: true, filter: (path) => !path.includes('__pycache__') });
  const protocol = join(copy, 'protocol.py');
  const source = readFileSync(protocol, 'utf8');
  expect(source).toContain('PROTOCOL_VERSION = 2\n');
  writeFileSync(protocol, source.replace('PROTOCOL_VERSION = 2\n', 'PROTOCOL_VERSION = 1\n'));
  return dirname(dir);
}

describe('a pod whose runner speaks another pod-protocol version', () => {
  it('fails the call at once with PROTOCOL_MISMATCH naming both versions and the copy to remove', async () => {
    const manager = createManager({ recipePath: [recipeWithOldRunner()] });
    const events = recordEvents(manager);
    const error = await manager.call('old-runner', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'PROTOCOL_MISMATCH',
      details: { protocol: 1, expected: 2, launcher: 'local', recipe: 'old-runner' },
    });
    const { message } = error as Error;
    expect(message).toMatch(
      /recipe "old-runner"\): its runner speaks pod protocol 1, and this podkeeper speaks 2/,
    );
    expect(message).toContain(`The daemon puts its own (${RUNNER})`);
    expect(message).toContain("a `podkeeper_pod` folder in the recipe's folder comes first");
    expect(events.filter((event) => event.event === 'pod.ready')).toEqual([]);
    expect(await manager.list()).toEqual([]);
  });

  it('reaches a client of the daemon with its code and facts', async () => {
    const daemon = await startDaemon({ env: { PODKEEPER_RECIPE_PATH: recipeWithOldRunner() } });
    const client = await connect({ socket: daemon.socket });
    onCleanup(() => client.close());
    const error = await client.call('old-runner', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'PROTOCOL_MISMATCH',
      message: expect.stringContaining('its runner speaks pod protocol 1, and this podkeeper speaks 2'),
      details: { protocol: 1, expected: 2 },
    });
  });
});
