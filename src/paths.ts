/** Where the package's own files live, whether running from `src/` (tests) or `dist/` (built). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the folder holding package.json, `pods/` and `recipes/`. */
export const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The Python runner package (`podkeeper_pod`) lives here; it goes on each pod's PYTHONPATH. */
export const PODS_DIR = join(PACKAGE_ROOT, 'pods');

/** Built-in recipes, available with no install. */
export const BUILTIN_RECIPES_DIR = join(PACKAGE_ROOT, 'recipes');

/**
 * `python -c` code that runs `statement` without the working directory on `sys.path`. Pods start in
 * their recipe's folder, and `-c` puts that folder first on `sys.path`, where a `podkeeper_pod` of
 * the recipe's own (a vendored old copy, say) would be imported instead of the runner. The runner
 * puts the recipe's folder on `sys.path` itself once its own modules are loaded (loader.py).
 */
export function pythonBootstrap(statement: string): string {
  // One line (a wrapper may log or quote it): `and` stands for an `if`.
  return `import sys; sys.path[:1] == [""] and sys.path.pop(0); ${statement}`;
}
