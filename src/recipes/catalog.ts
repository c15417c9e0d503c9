/**
 * The recipes a manager can serve: read from folders of recipe folders (each entry of
 * `PODKEEPER_RECIPE_PATH`, then the installed recipes in `$PODKEEPER_HOME/recipes`, then the repo's
 * built-in `recipes/`), validated once when read. A recipe earlier in the source list shadows one of
 * the same name later on, so a recipe under development on the recipe path wins over an installed
 * one, and an installed one over the built-in one.
 */
import { access, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PodkeeperError } from '../errors.js';
import { type InstallRecord, readInstallRecord } from './install-record.js';
import { describeIssues, type Recipe, recipeSchema } from './schema.js';

export interface RecipeSource {
  /** A folder whose sub-folders are recipes, or a single recipe folder (it has a recipe.json). */
  dir: string;
  builtin: boolean;
  /** The installed recipes (`$PODKEEPER_HOME/recipes`): their install records are read too. */
  installed?: boolean;
}

export interface LoadedRecipe {
  recipe: Recipe;
  /** Absolute path of the recipe folder (symbolic links resolved: an installed version's own folder). */
  dir: string;
  builtin: boolean;
  /** What the install recorded (source, digest, model), for an installed recipe. */
  install?: InstallRecord;
  /** The local path of the prefetched model: the pod's `ctx.model` (env PODKEEPER_MODEL_PATH). */
  modelPath?: string;
}

export interface RecipeProblem {
  file: string;
  error: PodkeeperError;
}

/** Reads and validates `<dir>/recipe.json`; an invalid one is `INVALID_RECIPE` naming file and field. */
export async function readRecipe(dir: string, builtin = false, installed = false): Promise<LoadedRecipe> {
  const absolute = await realpath(resolve(dir)).catch(() => resolve(dir));
  const file = join(absolute, 'recipe.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
      throw new PodkeeperError(
        'INVALID_RECIPE',
        `${absolute} has no recipe.json: a recipe folder needs one (name, version, capability, entry).`,
        { cause, details: { file } },
      );
    throw new PodkeeperError('INVALID_RECIPE', `${file}: cannot be read as JSON (${String(cause)})`, {
      cause,
      details: { file },
    });
  }
  const parsed = recipeSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PodkeeperError('INVALID_RECIPE', `${file}: ${describeIssues(parsed.error)}`, {
      details: { file },
    });
  }
  const entry = join(absolute, parsed.data.entry);
  try {
    await access(entry);
  } catch {
    throw new PodkeeperError('INVALID_RECIPE', `${file}: entry: "${parsed.data.entry}" does not exist`, {
      details: { file },
    });
  }
  const loaded: LoadedRecipe = { recipe: parsed.data, dir: absolute, builtin };
  if (installed) {
    const record = await readInstallRecord(absolute);
    if (record) {
      loaded.install = record;
      if (record.model) loaded.modelPath = record.model.path;
    }
  }
  return loaded;
}

export class RecipeCatalog {
  readonly #byName: Map<string, LoadedRecipe>;
  readonly problems: readonly RecipeProblem[];

  constructor(recipes: LoadedRecipe[], problems: RecipeProblem[] = []) {
    this.#byName = new Map();
    for (const loaded of recipes) {
      if (!this.#byName.has(loaded.recipe.name)) this.#byName.set(loaded.recipe.name, loaded);
    }
    this.problems = problems;
  }

  /** Reads every source in order; invalid recipes are collected in `problems`, not thrown. */
  static async load(sources: readonly RecipeSource[]): Promise<RecipeCatalog> {
    const recipes: LoadedRecipe[] = [];
    const problems: RecipeProblem[] = [];
    for (const source of sources) {
      for (const dir of await recipeDirs(source.dir)) {
        try {
          recipes.push(await readRecipe(dir, source.builtin, source.installed));
        } catch (error) {
          if (!(error instanceof PodkeeperError)) throw error;
          problems.push({ file: join(dir, 'recipe.json'), error });
        }
      }
    }
    return new RecipeCatalog(recipes, problems);
  }

  list(): LoadedRecipe[] {
    return [...this.#byName.values()].sort((a, b) => a.recipe.name.localeCompare(b.recipe.name));
  }

  get(name: string): LoadedRecipe | undefined {
    return this.#byName.get(name);
  }

  /**
   * A target is a recipe name or a capability. A capability served by several recipes picks the one
   * marked `default`, else the first by name.
   */
  resolve(target: string): LoadedRecipe {
    const byName = this.#byName.get(target);
    if (byName) return byName;
    const serving = this.list().filter((loaded) => loaded.recipe.capability === target);
    const chosen = serving.find((loaded) => loaded.recipe.default) ?? serving[0];
    if (chosen) return chosen;
    const known = this.list().map((loaded) => `${loaded.recipe.name} (${loaded.recipe.capability})`);
    throw new PodkeeperError(
      'UNKNOWN_TARGET',
      `No recipe or capability named "${target}". Known: ${known.join(', ') || 'none'}.`,
      { details: { target } },
    );
  }
}

async function recipeDirs(dir: string): Promise<string[]> {
  if (await exists(join(dir, 'recipe.json'))) return [dir];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  // Installed recipes are symbolic links to their current version's folder.
  const dirs = entries
    .filter((entry) => (entry.isDirectory() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
    .map((entry) => join(dir, entry.name));
  const withManifest = await Promise.all(
    dirs.map(async (d) => ((await isDir(d)) && (await exists(join(d, 'recipe.json'))) ? d : null)),
  );
  return withManifest.filter((d): d is string => d !== null).sort();
}

function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
