/**
 * A recipe's dependency list as the env hash sees it: each requirement normalized (PEP 503 name,
 * no insignificant spaces), duplicates dropped, sorted. Two recipes whose lists differ only in
 * spelling (`Six >= 1.0` vs `six>=1.0`) share one env. The strings handed to uv are the recipe's
 * own, trimmed; a requirement that starts with `-` is refused so it can never be read as an option.
 */
import { PodkeeperError } from '../errors.js';

const NAME = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/;

/** The PEP 503 normalized project name of a requirement, or undefined for a URL or path. */
function requirementName(requirement: string): string | undefined {
  const match = NAME.exec(requirement);
  return match?.[1] ? normalizeName(match[1]) : undefined;
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function normalizeRequirement(requirement: string): string {
  const trimmed = requirement.trim().replace(/\s+/g, ' ');
  const match = NAME.exec(trimmed);
  const name = match?.[1];
  if (!name) return trimmed;
  const rest = trimmed
    .slice(match[0].length)
    .replace(/\s*([<>=!~,;[\]()@])\s*/g, '$1')
    .trim();
  return `${normalizeName(name)}${rest}`;
}

/** The sorted, deduplicated, normalized list that goes into the env hash. */
export function normalizeRequirements(requirements: readonly string[]): string[] {
  return [...new Set(requirements.map(normalizeRequirement))].sort();
}

/** The requirements as passed to the installer; refuses anything an installer could take for an option. */
export function checkedRequirements(recipe: string, requirements: readonly string[]): string[] {
  return requirements.map((requirement) => {
    const trimmed = requirement.trim();
    if (trimmed.startsWith('-')) {
      throw new PodkeeperError(
        'ENV_BUILD_FAILED',
        `Recipe "${recipe}": dependency "${trimmed}" starts with "-"; dependencies are requirement ` +
          'specifiers (name, version, extras, markers), not installer options.',
        { details: { recipe, requirement: trimmed } },
      );
    }
    return trimmed;
  });
}

/**
 * Which of `requirements` an installer's error message is about: the one uv names in its
 * "Because <name> ..." explanation, else the first whose name appears in the message.
 */
export function failingRequirement(requirements: readonly string[], message: string): string | undefined {
  const text = message.toLowerCase();
  const named = requirements.map((requirement) => ({ requirement, name: requirementName(requirement) }));
  const because = /because (?:only )?([a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)/g;
  for (const match of text.matchAll(because)) {
    const name = normalizeName(match[1] ?? '');
    const found = named.find((entry) => entry.name === name);
    if (found) return found.requirement;
  }
  return named.find(({ name }) => name !== undefined && mentions(text, name))?.requirement;
}

function mentions(text: string, name: string): boolean {
  const pattern = name.replace(/-/g, '[-_.]');
  return new RegExp(`(^|[^a-z0-9._-])${pattern}($|[^a-z0-9_-])`).test(text);
}
