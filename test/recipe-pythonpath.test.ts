/**
 * A recipe's own PYTHONPATH reaches its pod merged with the runner's, not replaced by it; and what
 * a recipe's folder holds never stands in for the runner's own packages.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createManager, tempDir } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

describe("a recipe's PYTHONPATH", () => {
  it('is merged after the runner package: the recipe imports its own module, the runner still starts', async () => {
    const lib = join(tempDir('pk-lib-'), 'lib');
    mkdirSync(lib);
    writeFileSync(join(lib, 'pk_helper_module.py'), 'ANSWER = "from the recipe\'s own PYTHONPATH"\n');
    const root = tempDir('pk-recipes-');
    writeRecipe(
      {
        name: 'with-pythonpath',
        manifest: { env: { PYTHONPATH: lib } },
        code: [
          'import os, pk_helper_module',
          '',
          'def process(payload, ctx):',
          '    return {"answer": pk_helper_module.ANSWER, "path": os.environ["PYTHONPATH"]}',
          '',
        ].join('\n'),
      },
      root,
    );
    const manager = createManager({ recipePath: [root] });
    const result = (await manager.call('with-pythonpath', {})) as { answer: string; path: string };
    expect(result.answer).toBe("from the recipe's own PYTHONPATH");
    const entries = result.path.split(':');
    expect(entries[0]).toMatch(/pods$/);
    expect(entries).toContain(lib);
  });

  it("never lets a recipe folder's own podkeeper_pod stand in for the runner's (started normally or from a zygote)", async () => {
    const root = tempDir('pk-recipes-');
    const dir = writeRecipe(
      {
        name: 'carries-a-runner',
        manifest: { preload: ['json'] },
        code: [
          'import helper',
          '',
          'def process(payload, ctx):',
          '    return {"helper": helper.NAME}',
          '',
        ].join('\n'),
      },
      root,
    );
    writeFileSync(join(dir, 'helper.py'), 'NAME = "the recipe\'s own module"\n');
    // e.g. a recipe that vendored an old copy of the runner: importing it must never happen
    for (const name of ['podkeeper_pod', 'podkeeper_ray']) {
      mkdirSync(join(dir, name));
      writeFileSync(
        join(dir, name, '__init__.py'),
        `raise SystemExit("the recipe's own ${name} was imported")\n`,
      );
    }
    for (const zygotes of [false, true]) {
      const manager = createManager({ recipePath: [root], zygotes });
      try {
        if (zygotes) expect(await manager.startZygote('carries-a-runner')).toBeDefined();
        expect(await manager.call('carries-a-runner', {})).toEqual({ helper: "the recipe's own module" });
      } finally {
        await manager.close();
      }
    }
  });
});
