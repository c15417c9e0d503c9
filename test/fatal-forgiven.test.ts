/**
 * A fatal state ends when the restart policy forgives it. A replica that ran and was stopped is a
 * stable run, which forgives everything: the recipe evidently starts. Before, the policy forgot its
 * cool-down while the recipe stayed fatal, so no cool-down could ever end it: every call was refused
 * until an explicit `start`.
 */
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createManager } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

/** The second start of the recipe fails at import; every other one starts (counted with O_EXCL files). */
const SECOND_START_FAILS = `import itertools, os

HERE = os.path.dirname(os.path.abspath(__file__))
for START in itertools.count(1):
    try:
        os.close(os.open(os.path.join(HERE, f"start-{START}"), os.O_CREAT | os.O_EXCL))
        break
    except FileExistsError:
        continue
if START == 2:
    raise RuntimeError("the second start fails")


def process(payload, ctx):
    return {"start": START}
`;

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a fatal state', () => {
  it('ends when a replica that ran is stopped: the stable run forgives it', async () => {
    const dir = writeRecipe({
      name: 'second-fails',
      manifest: { minWarm: 2, replicas: { max: 2 } },
      code: SECOND_START_FAILS,
    });
    const manager = createManager({
      recipePath: [dirname(dir)],
      restart: { maxUnstable: 1, fatalCooldown: 600 },
    });
    expect(await manager.call('second-fails', {})).toEqual({ start: 1 });
    await until(() => manager.fatalRecipes().length > 0, 'the second replica to make the recipe fatal');
    expect(manager.fatalRecipes()).toMatchObject([{ recipe: 'second-fails', crashes: 1 }]);
    await manager.stop({ target: 'second-fails' }); // the first replica, which ran: a stable run
    expect(manager.fatalRecipes()).toEqual([]);
    expect(await manager.call('second-fails', {})).toEqual({ start: 3 });
  });
});
