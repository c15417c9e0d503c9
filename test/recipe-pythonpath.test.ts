/** A recipe's own PYTHONPATH reaches its pod merged with the runner's, not replaced by it. */
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
});
