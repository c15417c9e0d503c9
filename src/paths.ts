/** Where the package's own files live, whether running from `src/` (tests) or `dist/` (built). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the folder holding package.json, `pods/` and `recipes/`. */
export const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The Python runner package (`podkeeper_pod`) lives here; it goes on each pod's PYTHONPATH. */
export const PODS_DIR = join(PACKAGE_ROOT, 'pods');

/** Built-in recipes, available with no install. */
export const BUILTIN_RECIPES_DIR = join(PACKAGE_ROOT, 'recipes');
