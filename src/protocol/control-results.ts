/**
 * Control protocol v1: the `result` of each action's success answer (see `control.ts` for the
 * requests). The client library types its methods from these; the JSON Schemas are generated from them.
 */
import { z } from 'zod';
import { CONTROL_PROTOCOL_VERSION, type ControlAction } from './control.js';
import { logLevelSchema } from './pod.js';

export const podStateSchema = z.enum([
  'placing',
  'starting',
  'ready',
  'busy',
  'stopping',
  'stopped',
  'crashed',
]);

const podWhereSchema = z.object({
  launcher: z.string().describe("`local`, or the name of a launcher of the daemon's config."),
  locality: z.enum(['local', 'remote']),
  node: z.string().optional().describe('The node it runs on (a Ray node id), once placed.'),
  host: z.string().optional().describe('The address of that node, once placed.'),
});

const podInfoSchema = z.object({
  id: z.string(),
  recipe: z.string(),
  replica: z
    .number()
    .int()
    .min(0)
    .describe("Which of its recipe's replicas this pod is: 0 for the first (see the recipe's `replicas`)."),
  capability: z.string(),
  state: podStateSchema,
  pid: z.number().int().nullable(),
  rssMB: z.number().nullable().describe('Measured RSS of the whole process tree; null before measured.'),
  startedAt: z.string().describe('ISO-8601'),
  lastUsedAt: z.string().describe('ISO-8601'),
  inFlight: z.number().int(),
  queued: z.number().int(),
  calls: z.number().int(),
  spawnToReadyMs: z.number().nullable(),
  restarts: z
    .number()
    .int()
    .describe('Pods of this recipe started again after a crash, since the daemon started.'),
  reclaimInSeconds: z
    .number()
    .nullable()
    .describe('Seconds until this idle pod is reclaimed; null while busy, or when it never is.'),
  where: podWhereSchema.describe(
    'Where the pod runs. `state` is `placing` while a remote one waits for a node.',
  ),
});
export type PodInfoWire = z.infer<typeof podInfoSchema>;

const availableRecipeSchema = z.object({
  name: z.string(),
  version: z.string(),
  capability: z.string(),
  description: z.string().optional(),
  sha256: z.string(),
  size: z.number().int().nullable().describe('Bytes of the archive; null when the index does not say.'),
  installed: z.boolean().describe('A recipe of this name is installed (at any version).'),
});
export type AvailableRecipe = z.infer<typeof availableRecipeSchema>;

const recipeSummarySchema = z.object({
  name: z.string(),
  version: z.string(),
  capability: z.string(),
  description: z.string().optional(),
  source: z.string().describe('The folder the recipe is served from.'),
  builtin: z.boolean(),
});
export type RecipeSummary = z.infer<typeof recipeSummarySchema>;

const logLineSchema = z.object({
  time: z.number().describe('Epoch milliseconds.'),
  podId: z.string(),
  recipe: z.string(),
  source: z.enum(['stderr', 'pod', 'daemon']),
  level: logLevelSchema,
  message: z.string(),
});
export type LogLine = z.infer<typeof logLineSchema>;

const envInstallerSchema = z
  .discriminatedUnion('kind', [
    z.object({
      kind: z.literal('uv'),
      path: z.string(),
      version: z.string(),
      source: z
        .enum(['option', 'PATH', 'home', 'installed'])
        .describe('The `uv` option or PODKEEPER_UV, PATH, one installed earlier into the home, or just now.'),
    }),
    z.object({ kind: z.literal('pip'), source: z.literal('fallback'), reason: z.string() }),
    z.object({ kind: z.literal('unavailable'), reason: z.string() }),
  ])
  .describe('What builds envs: uv (and where it came from), or `python -m venv` + pip.');

const environmentSummarySchema = z.object({
  mode: z.enum(['venv', 'system']).describe('The env mode in force (`auto` resolved).'),
  requestedMode: z.enum(['auto', 'venv', 'system']),
  container: z.boolean().describe('Whether the daemon runs inside a container.'),
  installer: envInstallerSchema,
  wheelhouse: z.string().nullable(),
  envsDir: z.string(),
  envs: z.number().int().describe('Envs on disk.'),
});
export type EnvironmentSummary = z.infer<typeof environmentSummarySchema>;

const gcResultSchema = z.object({
  removed: z.array(z.string()).describe('Hashes of the envs removed.'),
  freedBytes: z
    .number()
    .int()
    .nonnegative()
    .describe(
      "Disk the removals gave back, bytes (files hard-linked elsewhere too, as from uv's cache, excepted).",
    ),
  kept: z.array(
    z.object({
      hash: z.string(),
      reason: z
        .enum(['referenced', 'in use', 'building'])
        .describe('A recipe needs it, a live pod runs from it, or it is being built.'),
    }),
  ),
});
export type GcResultWire = z.infer<typeof gcResultSchema>;

const statusResultSchema = z.object({
  version: z.string(),
  protocol: z.literal(CONTROL_PROTOCOL_VERSION),
  pid: z.number().int(),
  startedAt: z.string().describe('ISO-8601'),
  uptimeSeconds: z.number(),
  home: z.string(),
  socket: z.string().nullable().describe('null when the daemon serves only its stdio.'),
  stdio: z.boolean(),
  python: z.string(),
  envMode: z.enum(['venv', 'system']).describe('Same as `environment.mode`.'),
  environment: environmentSummarySchema,
  memory: z.object({
    usedMB: z.number().nullable().describe('null when the pods could not be measured (see `warning`).'),
    maxMB: z.number(),
    warning: z.string().optional().describe('Why the pods could not be measured (out of file descriptors).'),
  }),
  pods: z.number().int(),
  recipes: z.number().int(),
  connections: z.number().int(),
  http: z
    .string()
    .nullable()
    .describe('The URL of the status page, JSON API and /metrics (`--http`), or null when off.'),
  fatal: z
    .array(
      z.object({
        recipe: z.string(),
        crashes: z.number().int(),
        retryInMs: z.number().describe('When the next call tries the recipe again on its own.'),
        stderrTail: z.array(z.string()).describe("The last stderr lines of the recipe's last pod."),
      }),
    )
    .describe('Recipes in the POD_FATAL state (crash-looping); `pods.start` clears one at once.'),
  zygotes: z
    .array(
      z.object({
        recipe: z.string(),
        pid: z.number().int(),
        memoryMB: z
          .number()
          .nullable()
          .describe(
            'Its resident memory, as the budget counts it (its pods share those pages); null when not measured.',
          ),
      }),
    )
    .describe('The fork-servers of recipes with `preload` (one per recipe): not pods, but they hold memory.'),
  clientBufferedBytes: z
    .number()
    .int()
    .describe(
      'Output queued for slow clients and not yet taken by their sockets, bytes, all clients together.',
    ),
});
export type StatusResult = z.infer<typeof statusResultSchema>;

export const controlResultSchemas = {
  status: statusResultSchema,
  'pods.list': z.object({
    pods: z.array(podInfoSchema),
    warning: z.string().optional().describe('Why `rssMB` is null: the pods could not be measured.'),
  }),
  'pods.start': podInfoSchema,
  'pods.stop': z.object({ pods: z.array(podInfoSchema) }),
  call: z.unknown().describe("The pod's result."),
  'recipes.list': z.object({
    recipes: z.array(recipeSummarySchema),
    available: z
      .array(availableRecipeSchema)
      .optional()
      .describe('With `available`: the recipe index, and whether each is installed.'),
  }),
  'recipes.install': z.object({ recipe: recipeSummarySchema }),
  'recipes.remove': z.object({}),
  'logs.tail': z.object({ lines: z.array(logLineSchema) }),
  'logs.follow': z.object({}).describe('Sent once the client cancels the stream.'),
  'events.subscribe': z.object({}).describe('Sent once the client cancels the stream.'),
  shutdown: z.object({}),
  cancel: z.object({ cancelled: z.boolean().describe('False when no such request was in flight.') }),
  gc: gcResultSchema,
} as const satisfies Record<ControlAction, z.ZodType>;
export type ControlResult<A extends ControlAction> = z.infer<(typeof controlResultSchemas)[A]>;
