/**
 * PodManager options, validated once when the manager is built: a bad value is `INVALID_OPTION`
 * naming the field and the value received. Durations are in seconds, like recipe.json and the
 * control protocol (docs/architecture.md#pod-lifecycle).
 */
import { totalmem } from 'node:os';
import type { Logger } from 'pino';
import { z } from 'zod';
import { PodkeeperError } from '../errors.js';
import { launchersSchema, placementSchema } from '../launch/config.js';
import { checkPlacement } from '../launch/launchers.js';
import { envLayer } from '../location/environment.js';
import { resolveHome } from '../location/home.js';

const seconds = z.number().refine(Number.isFinite, 'must be finite').min(0);

const restartOptionsSchema = z.strictObject({
  /** First backoff, seconds. @default 0.5 */
  backoffBase: seconds.default(0.5),
  /** @default 1.5 */
  backoffFactor: z.number().min(1).default(1.5),
  /** Longest backoff, seconds. @default 15 */
  backoffCap: seconds.default(15),
  /** A crash this soon after start (seconds) counts toward fatal. @default 10 */
  unstableWindow: seconds.default(10),
  /** Unstable crashes in a row that make a recipe fatal. @default 5 */
  maxUnstable: z.number().int().min(1).default(5),
  /** Seconds a fatal recipe waits before it is tried again on its own (doubled at each fatal in a row). @default 30 */
  fatalCooldown: seconds.default(30),
  /** The longest fatal cool-down, seconds. @default 600 */
  fatalCooldownCap: seconds.default(600),
});

const podManagerOptionsSchema = z.strictObject({
  /** Base interpreter for pods. @default $PODKEEPER_PYTHON or "python3" */
  python: z.string().min(1).optional(),
  /** Daemon home: caches live under it. @default $PODKEEPER_HOME, else the platform's data dir */
  home: z.string().min(1).optional(),
  /** Extra recipe folders, searched before the built-in ones. @default $PODKEEPER_RECIPE_PATH */
  recipePath: z.array(z.string().min(1)).optional(),
  /** Serve the repo's `recipes/` folder. @default true */
  builtinRecipes: z.boolean().default(true),
  /** Idle seconds before a pod is stopped; 0 = after each reply, -1 = never. @default 300 */
  idleTimeout: z.number().min(-1).default(300),
  /** Budget for the summed RSS of all pods. @default half of the machine's RAM */
  maxMemoryMB: z.number().positive().optional(),
  /** How long a spawn waits for room under the budget before `NO_MEMORY`, seconds. @default 30 */
  memoryWait: seconds.default(30),
  /** Fork the pods of recipes that declare `preload` from a zygote that imported it once. @default true */
  zygotes: z.boolean().default(true),
  /** Seconds a pod may go without `ready` or a log line. @default 120 */
  readyTimeout: z.number().positive().default(120),
  /** Seconds for the whole stop sequence (shutdown, SIGTERM at half, SIGKILL). @default 5 */
  stopGrace: z.number().positive().default(5),
  /** Seconds an upgraded or removed recipe's old pod may take to finish its calls before it is stopped. @default 30 */
  drainTimeout: seconds.default(30),
  /** Seconds a cancelled request may take before its pod is killed. @default 5 */
  cancelGrace: z.number().positive().default(5),
  /** Requests waiting per pod before `QUEUE_FULL`. @default 1024 */
  maxQueue: z.number().int().min(1).default(1024),
  /** Requests sent to a pod ahead of its free handler slots (keeps the pipe busy). @default 32 */
  pipelining: z.number().int().min(0).default(32),
  /** Longest accepted protocol line, bytes (UTF-8). @default 64 MiB */
  maxLineLength: z
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  /** Extra environment for every pod (a recipe's own `env` wins). @default {} */
  env: z.record(z.string(), z.string()).default({}),
  restart: restartOptionsSchema.default(restartOptionsSchema.parse({})),
  /** Pods' environments: `venv` (a uv venv per dependency set), `system` (the system Python), `auto`
   * (= venv, even inside a container). @default $PODKEEPER_ENV_MODE or "auto" */
  envMode: z.enum(['auto', 'venv', 'system']).optional(),
  /** The uv executable. @default $PODKEEPER_UV, else uv on PATH, else one installed into the home */
  uv: z.string().min(1).optional(),
  /** A folder of wheels handed to the installer as `--find-links` (offline installs). @default $PODKEEPER_WHEELHOUSE */
  wheelhouse: z.string().min(1).optional(),
  /** Let uv download a Python a recipe's `python` requirement needs. @default uv's own (UV_PYTHON_DOWNLOADS) */
  pythonDownloads: z.boolean().optional(),
  /** Seconds one installer command (uv, pip, apt) may run before its process tree is killed. @default 300 */
  envBuildTimeout: z.number().positive().default(300),
  /** Launchers other than the local one, by name (see launch/config.ts). @default {} */
  launchers: launchersSchema.default({}),
  /** Recipe name → launcher name; other recipes run locally. @default {} */
  placement: placementSchema.default({}),
  logger: z.custom<Logger>((value) => typeof value === 'object' && value !== null).optional(),
});

export type PodManagerOptions = z.input<typeof podManagerOptionsSchema>;

export type ResolvedOptions = z.infer<typeof podManagerOptionsSchema> & {
  python: string;
  envMode: 'auto' | 'venv' | 'system';
  home: string;
  recipePath: string[];
  maxMemoryMB: number;
};

/** The options a `PODKEEPER_*` variable may default (the home aside: `resolveHome` reads it). */
const FROM_ENVIRONMENT = ['python', 'recipePath', 'envMode', 'uv', 'wheelhouse'] as const;

/**
 * Validates `input` over the defaults the environment gives (read by the one `PODKEEPER_*` table the
 * daemon's config uses too). The daemon passes `env = {}`: its config has layered the environment.
 */
export function resolveOptions(
  input: PodManagerOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  const layer = envLayer(env);
  const merged: Record<string, unknown> = {};
  for (const field of FROM_ENVIRONMENT) if (layer[field]) merged[field] = layer[field].value;
  for (const [field, value] of Object.entries(input)) if (value !== undefined) merged[field] = value;
  const parsed = podManagerOptionsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    const received = field ? field.split('.').reduce<unknown>(pick, merged) : merged;
    const top = String(issue?.path[0] ?? '');
    const from =
      top && (input as Record<string, unknown>)[top] === undefined && layer[top]
        ? ` (from ${layer[top].source})`
        : '';
    const what =
      issue?.code === 'unrecognized_keys'
        ? `unknown option ${issue.keys.map((k) => `\`${k}\``).join(', ')}`
        : '';
    throw new PodkeeperError(
      'INVALID_OPTION',
      what ||
        `Expected \`${field}\`${from} ${issue?.message ?? 'to be valid'}, got ${JSON.stringify(received)}.`,
      { details: { field, received } },
    );
  }
  const options = parsed.data;
  checkPlacement(Object.keys(options.launchers), options.placement);
  return {
    ...options,
    python: options.python ?? 'python3',
    home: options.home ?? resolveHome(undefined, env),
    recipePath: options.recipePath ?? [],
    maxMemoryMB: options.maxMemoryMB ?? Math.floor(totalmem() / 1024 / 1024 / 2),
    envMode: options.envMode ?? 'auto',
  };
}

function pick(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}
