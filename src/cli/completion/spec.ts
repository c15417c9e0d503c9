/**
 * What the shell completions complete, read from the program itself (so a new command or flag is
 * completed without touching the scripts), and the recipe names offered after `call`, `run`…
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { connect } from '../../client/connect.js';
import { recipePathFrom } from '../../location/environment.js';
import { resolveHome } from '../../location/home.js';
import { checkTrustedDir } from '../../location/home-checks.js';
import { BUILTIN_RECIPES_DIR } from '../../paths.js';
import { RECIPE_NAME } from '../../recipes/schema.js';

export interface CommandSpec {
  name: string;
  description: string;
  /** Every flag spelling: `--json`, `-a`, `--action`. */
  flags: { names: string[]; description: string; takesValue: boolean }[];
  /** Sub-commands (`service install`) or fixed first arguments (`completion bash`). */
  words: string[];
  /** The first argument is a recipe name. */
  recipes: boolean;
}

/** Commands whose first argument is a recipe (name or capability). */
const RECIPE_COMMANDS = new Set(['call', 'run', 'start', 'stop', 'logs', 'remove']);
/** Fixed first arguments of commands that are not sub-commands. */
const FIXED_WORDS: Record<string, string[]> = { completion: ['bash', 'zsh', 'fish'] };

export function commandSpecs(program: Command): CommandSpec[] {
  return program.commands.map((command) => ({
    name: command.name(),
    description: firstLine(command.description()),
    flags: [...command.options, ...command.commands.flatMap((sub) => sub.options)]
      .filter((option) => !option.hidden)
      .map((option) => ({
        names: [option.long, option.short].filter((name): name is string => typeof name === 'string'),
        description: firstLine(option.description),
        takesValue: option.required || option.optional,
      })),
    words: [...command.commands.map((sub) => sub.name()), ...(FIXED_WORDS[command.name()] ?? [])],
    recipes: RECIPE_COMMANDS.has(command.name()),
  }));
}

/**
 * Recipe names for completion: the running daemon's, else the folders a daemon would serve
 * (PODKEEPER_RECIPE_PATH, the home's installed recipes if the home passes the daemon's trust
 * check, the built-in ones). Only valid recipe names are offered: the shell reads them as words,
 * so a name is data and never a command. Never fails.
 */
export async function recipeNames(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  try {
    const client = await connect({ timeout: 1 });
    try {
      return (await client.recipes()).map((recipe) => recipe.name).sort();
    } finally {
      await client.close();
    }
  } catch {
    const dirs = [...recipePathFrom(env), ...installedDir(resolveHome(undefined, env)), BUILTIN_RECIPES_DIR];
    return [...new Set(dirs.flatMap(namesIn))].sort();
  }
}

/** The home's recipes folder, only when the daemon would trust the home. */
function installedDir(home: string): string[] {
  try {
    checkTrustedDir(home, 'home');
    return [join(home, 'recipes')];
  } catch {
    return [];
  }
}

function namesIn(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    try {
      const recipe = JSON.parse(readFileSync(join(dir, entry, 'recipe.json'), 'utf8')) as { name?: unknown };
      return typeof recipe.name === 'string' && RECIPE_NAME.test(recipe.name) ? [recipe.name] : [];
    } catch {
      return [];
    }
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
