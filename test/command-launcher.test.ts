/**
 * The command launcher: an argv prefix that forwards stdio runs the pod (here a local wrapper
 * script stands in for `ssh host` or `docker run -i`). Real processes: the wrapper, the guardian and
 * the runner; the pod reports where it runs, stops cleanly and leaves nothing behind.
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoadedRecipe } from '../src/recipes/catalog.js';
import { createManager, tempDir } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

const WRAPPER = `#!/bin/sh
# Stands in for \`ssh gpu-box\`: runs the command it is given, marked as wrapped.
export WRAPPED_BY=wrap.sh
exec "$@"
`;

const POD = `import os

def process(payload, ctx):
    return {"wrappedBy": os.environ.get("WRAPPED_BY"), "input": payload}
`;

function wrapper(): string {
  const path = join(tempDir('pk-wrap-'), 'wrap.sh');
  writeFileSync(path, WRAPPER);
  chmodSync(path, 0o755);
  return path;
}

describe('CommandLauncher', () => {
  it('runs a placed recipe through its argv prefix; ps says which launcher', async () => {
    const root = join(writeRecipe({ name: 'wrapped', code: POD }), '..');
    writeRecipe({ name: 'plain', code: POD }, root);
    const manager = createManager({
      recipePath: [root],
      builtinRecipes: false,
      launchers: { box: { kind: 'command', argv: [wrapper()] } },
      placement: { wrapped: 'box' },
    });
    expect(await manager.call('wrapped', { n: 1 })).toEqual({ wrappedBy: 'wrap.sh', input: { n: 1 } });
    expect(await manager.call('plain', { n: 2 })).toEqual({ wrappedBy: null, input: { n: 2 } });
    const where = Object.fromEntries((await manager.list()).map((pod) => [pod.recipe, pod.where]));
    expect(where).toEqual({
      wrapped: { launcher: 'box', locality: 'remote' },
      plain: { launcher: 'local', locality: 'local' },
    });
    expect((await manager.stop({ target: 'wrapped' })).map((pod) => pod.recipe)).toEqual(['wrapped']);
    expect((await manager.list()).map((pod) => pod.recipe)).toEqual(['plain']);
  });

  it('a prefix that cannot start fails the call with the crash and its output', async () => {
    const root = join(writeRecipe({ name: 'wrapped', code: POD }), '..');
    const manager = createManager({
      recipePath: [root],
      builtinRecipes: false,
      launchers: { box: { kind: 'command', argv: ['sh', '-c', 'echo "no route to gpu-box" >&2; exit 255'] } },
      placement: { wrapped: 'box' },
    });
    const error = await manager.call('wrapped', {}).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'POD_CRASHED' });
    expect((error as Error).message).toContain('no route to gpu-box');
  });

  it('builds no local env for a recipe placed elsewhere, even one with dependencies', async () => {
    const root = join(
      writeRecipe({ name: 'wrapped', code: POD, manifest: { dependencies: ['pk-not-on-any-index==9.9'] } }),
      '..',
    );
    const home = tempDir('pk-home-');
    const manager = createManager({
      home,
      envMode: 'venv',
      recipePath: [root],
      builtinRecipes: false,
      launchers: { box: { kind: 'command', argv: [wrapper()] } },
      placement: { wrapped: 'box' },
    });
    const [loaded] = await manager.recipes();
    // What an install does before its smoke start: a local env would fail (no index has it).
    expect(await manager.prepareEnv(loaded as LoadedRecipe)).toMatchObject({ kind: 'remote' });
    expect(existsSync(join(home, 'envs'))).toBe(false);
  });
});
