/**
 * The `PODKEEPER_*` environment, read in one place: which variable sets which setting and how its
 * text becomes a value. The daemon's config layers it between config.json and the flags; a library
 * `PodManager` takes the fields it has from it. An empty variable counts as unset.
 */
import { delimiter, resolve, sep } from 'node:path';

/** A layer of settings: each value with where it came from (`env PODKEEPER_X`, `--flag`, a file). */
export type Layer = Record<string, { value: unknown; source: string }>;

/** `command`: a bare name (looked up on PATH) stays as is; anything with a slash is a path. */
export type Kind = 'string' | 'number' | 'path' | 'paths' | 'command' | 'flag';

const ENV_FIELDS: Record<string, { field: string; kind: Kind }> = {
  PODKEEPER_SOCKET: { field: 'socket', kind: 'path' },
  PODKEEPER_RECIPE_PATH: { field: 'recipePath', kind: 'paths' },
  PODKEEPER_PYTHON: { field: 'python', kind: 'string' },
  PODKEEPER_IDLE_TIMEOUT: { field: 'idleTimeout', kind: 'number' },
  PODKEEPER_MAX_MEMORY_MB: { field: 'maxMemoryMB', kind: 'number' },
  PODKEEPER_LOG_LEVEL: { field: 'logLevel', kind: 'string' },
  PODKEEPER_SHUTDOWN_GRACE: { field: 'shutdownGrace', kind: 'number' },
  PODKEEPER_ENV_MODE: { field: 'envMode', kind: 'string' },
  PODKEEPER_UV: { field: 'uv', kind: 'command' },
  PODKEEPER_WHEELHOUSE: { field: 'wheelhouse', kind: 'path' },
  PODKEEPER_ENV_BUILD_TIMEOUT: { field: 'envBuildTimeout', kind: 'number' },
  PODKEEPER_HTTP: { field: 'http', kind: 'string' },
};

/** The settings the environment sets, converted but not yet validated. */
export function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = {};
  for (const [name, { field, kind }] of Object.entries(ENV_FIELDS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    layer[field] = { value: convert(raw, kind), source: `env ${name}` };
  }
  return layer;
}

/** `PODKEEPER_RECIPE_PATH` as the daemon reads it: `:`-separated, resolved, empty entries left out. */
export function recipePathFrom(env: NodeJS.ProcessEnv): string[] {
  return (envLayer(env)['recipePath']?.value as string[] | undefined) ?? [];
}

/** A setting's text as its kind reads it; a number that is not one stays text, for the schema to refuse. */
export function convert(raw: string, kind: Kind): unknown {
  switch (kind) {
    case 'number': {
      const number = Number(raw);
      return raw.trim() === '' || Number.isNaN(number) ? raw : number;
    }
    case 'path':
      return resolve(raw);
    case 'flag':
      return Boolean(raw);
    case 'command':
      return raw.includes(sep) ? resolve(raw) : raw;
    case 'paths':
      return raw
        .split(delimiter)
        .filter(Boolean)
        .map((path) => resolve(path));
    default:
      return raw;
  }
}
