/**
 * What identifies a venv: its normalized dependencies, the interpreter it is built on, the platform
 * and the runner's protocol version. The env lives at `$PODKEEPER_HOME/envs/<hash>`, where the hash
 * is the first 16 hex digits of the sha256 of this key's canonical JSON (as uv names its cached
 * environments). Change any part and the recipe gets a new env; the old one is left for GC.
 */
import { createHash } from 'node:crypto';
import { POD_PROTOCOL_VERSION } from '../protocol/pod.js';
import type { PythonInterpreter } from './python.js';
import { satisfiesPythonSpec } from './python-spec.js';
import { normalizeRequirements } from './requirements.js';

export const ENV_FORMAT = 1;

export interface EnvKey {
  format: number;
  protocol: number;
  platform: string;
  /** The base interpreter (absolute path) and its version. */
  base: string;
  baseVersion: string;
  /** The recipe's `python` requirement when the base does not satisfy it: uv picks the interpreter. */
  pythonRequest: string | null;
  dependencies: string[];
  /** System mode: a layered venv over the system interpreter's packages (absent otherwise). */
  systemSitePackages?: true;
}

export interface RecipeEnvRequest {
  dependencies: readonly string[];
  python?: string | undefined;
}

export function envKey(request: RecipeEnvRequest, base: PythonInterpreter, layered = false): EnvKey {
  const key: EnvKey = {
    format: ENV_FORMAT,
    protocol: POD_PROTOCOL_VERSION,
    platform: `${process.platform}-${process.arch}`,
    base: base.executable,
    baseVersion: base.version,
    pythonRequest: needsOtherPython(request.python, base) ? (request.python ?? null) : null,
    dependencies: normalizeRequirements(request.dependencies),
  };
  // Only when set, so the hashes of plain venvs stay what they were.
  if (layered) key.systemSitePackages = true;
  return key;
}

export function hashKey(key: EnvKey): string {
  const canonical = JSON.stringify(key, Object.keys(key).sort());
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** True when the recipe asks for a Python the base interpreter is not (or may not be). */
function needsOtherPython(spec: string | undefined, base: PythonInterpreter): boolean {
  if (spec === undefined) return false;
  return satisfiesPythonSpec(base.version, spec) !== true;
}

/** The first 16 hex digits of the sha256 of `text`. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** True when the recipe cannot run on the bare base interpreter. */
export function needsEnv(
  recipe: RecipeEnvRequest & { systemDependencies: readonly string[] },
  base: PythonInterpreter,
): boolean {
  return (
    recipe.dependencies.length > 0 ||
    recipe.systemDependencies.length > 0 ||
    needsOtherPython(recipe.python, base)
  );
}

/** True when the recipe gets a venv of its own in venv mode. */
export function needsVenv(recipe: RecipeEnvRequest, base: PythonInterpreter): boolean {
  return recipe.dependencies.length > 0 || needsOtherPython(recipe.python, base);
}
