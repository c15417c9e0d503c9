/**
 * Control protocol, version 1 (DESIGN §6): what a host, the CLI and the client library say to the
 * daemon, one JSON object per line, over the daemon's Unix socket or its stdio (`daemon --stdio`).
 * These schemas are the single definition of every message; the JSON Schemas in `docs/schemas/` are
 * generated from them (`npm run schemas`), and `docs/protocol.md` explains them.
 *
 *   client → daemon   {"id":"1","action":"call","payload":{"target":"echo","input":{"text":"hi"}}}
 *   daemon → client   {"type":"progress","id":"1","progress":0.5}          (a call's own events)
 *                     {"type":"chunk","id":"1","data":{"token":"hi"}}
 *                     {"type":"event","id":"7","event":"pod.ready",…}       (a subscription's events)
 *                     {"id":"1","success":true,"result":{"text":"hi"}}     (exactly one per request)
 *                     {"id":null,"success":false,"error":{"code":"BAD_REQUEST",…}}  (a line with no id)
 */
import { z } from 'zod';
import { chunkMessageSchema, logLevelSchema, progressMessageSchema } from './pod.js';

export const CONTROL_PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------- envelope

/** A request id: chosen by the client, unique among its requests in flight on one connection. */
export const requestIdSchema = z
  .union([z.string().min(1).max(256), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)])
  .describe('Chosen by the client; unique among its requests in flight on this connection.');
export type RequestId = z.infer<typeof requestIdSchema>;

export const controlRequestSchema = z
  .strictObject({
    id: requestIdSchema,
    action: z.string().min(1).max(128).describe('One of the actions below.'),
    payload: z.unknown().optional().describe("The action's payload; {} when absent."),
  })
  .describe('One request, client → daemon.');
export type ControlRequest = z.infer<typeof controlRequestSchema>;

// ---------------------------------------------------------------- payloads

const target = z.string().min(1).max(256).describe('A recipe name or a capability.');
const podId = z.string().min(1).max(256).describe('A pod id, as `pods.list` shows it.');
const empty = z.strictObject({});

/** Names of the events a subscriber can ask for (`events.subscribe` `events` filter). */
export const EVENT_NAMES = [
  'pod.spawned',
  'pod.state',
  'pod.ready',
  'pod.reclaimed',
  'pod.evicted',
  'pod.stopped',
  'pod.crashed',
  'pod.fatal',
  'pod.log',
  'env.progress',
  'env.built',
  'env.failed',
  'env.command',
  'env.removed',
] as const;
export const eventNameSchema = z.enum(EVENT_NAMES);
export type EventName = z.infer<typeof eventNameSchema>;

export const podSelectorPayloadSchema = z
  .strictObject({
    target: target.optional(),
    podId: podId.optional(),
    all: z.literal(true).optional(),
  })
  .refine((p) => [p.target, p.podId, p.all].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of `target`, `podId` or `all: true`',
  });

export const callPayloadSchema = z.strictObject({
  target,
  action: z.string().min(1).max(128).optional().describe('The recipe action. Default "process".'),
  input: z.unknown().optional().describe("The pod's payload. Default {}."),
  timeout: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .optional()
    .describe(
      'Seconds without an answer or progress before TIMEOUT. Default: the recipe timeout, else none.',
    ),
  keepAlive: z
    .number()
    .min(-1)
    .optional()
    .describe('Seconds the pod stays after this call: 0 = stop after the reply, -1 = never.'),
});

export const logsPayloadSchema = z
  .strictObject({
    target: target.optional(),
    podId: podId.optional(),
    lines: z.number().int().min(0).max(10_000).optional().describe('How many recent lines. Default 100.'),
  })
  .refine((p) => p.target === undefined || p.podId === undefined, {
    message: 'give at most one of `target` and `podId`',
  });

export const followPayloadSchema = z
  .strictObject({
    target: target.optional(),
    podId: podId.optional(),
    lines: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .optional()
      .describe('Recent lines sent first, as events. Default 0.'),
  })
  .refine((p) => p.target === undefined || p.podId === undefined, {
    message: 'give at most one of `target` and `podId`',
  });

export const subscribePayloadSchema = z.strictObject({
  events: z.array(eventNameSchema).optional().describe('Only these events. Default: all.'),
  target: target.optional().describe('Only events of the recipe this names (a recipe or a capability).'),
  podId: podId.optional().describe('Only events of this pod.'),
});

export const controlPayloadSchemas = {
  status: empty,
  'pods.list': empty,
  'pods.start': z.strictObject({ target }),
  'pods.stop': podSelectorPayloadSchema,
  call: callPayloadSchema,
  'recipes.list': empty,
  'recipes.install': z.strictObject({
    source: z
      .string()
      .min(1)
      .max(4096)
      .describe('A directory, a .tar.gz file, an http(s) URL or an index name.'),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/i, 'must be a 64-digit hex sha256')
      .optional(),
    insecure: z.boolean().optional().describe('Allow a remote source without sha256.'),
  }),
  'recipes.remove': z.strictObject({ name: z.string().min(1).max(64) }),
  'logs.tail': logsPayloadSchema,
  'logs.follow': followPayloadSchema,
  'events.subscribe': subscribePayloadSchema,
  shutdown: empty,
  cancel: z.strictObject({ id: requestIdSchema.describe('The id of the request to cancel.') }),
  gc: empty,
} as const;

export type ControlAction = keyof typeof controlPayloadSchemas;
export const CONTROL_ACTIONS = Object.keys(controlPayloadSchemas) as ControlAction[];
export type ControlPayload<A extends ControlAction> = z.infer<(typeof controlPayloadSchemas)[A]>;
export type ControlPayloadInput<A extends ControlAction> = z.input<(typeof controlPayloadSchemas)[A]>;

/** Actions whose answer is a stream of events that lasts until the client cancels it or leaves. */
export const STREAM_ACTIONS: ReadonlySet<ControlAction> = new Set(['logs.follow', 'events.subscribe']);

export function isControlAction(action: string): action is ControlAction {
  return Object.hasOwn(controlPayloadSchemas, action);
}

// ---------------------------------------------------------------- results

export const podStateSchema = z.enum(['starting', 'ready', 'busy', 'stopping', 'stopped', 'crashed']);

export const podInfoSchema = z.object({
  id: z.string(),
  recipe: z.string(),
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
});
export type PodInfoWire = z.infer<typeof podInfoSchema>;

export const recipeSummarySchema = z.object({
  name: z.string(),
  version: z.string(),
  capability: z.string(),
  description: z.string().optional(),
  source: z.string().describe('The folder the recipe is served from.'),
  builtin: z.boolean(),
});
export type RecipeSummary = z.infer<typeof recipeSummarySchema>;

export const logLineSchema = z.object({
  time: z.number().describe('Epoch milliseconds.'),
  podId: z.string(),
  recipe: z.string(),
  source: z.enum(['stderr', 'pod', 'daemon']),
  level: logLevelSchema,
  message: z.string(),
});
export type LogLine = z.infer<typeof logLineSchema>;

export const envInstallerSchema = z
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

export const environmentSummarySchema = z.object({
  mode: z.enum(['venv', 'system']).describe('The env mode in force (`auto` resolved).'),
  requestedMode: z.enum(['auto', 'venv', 'system']),
  container: z.boolean().describe('Whether the daemon runs inside a container.'),
  installer: envInstallerSchema,
  wheelhouse: z.string().nullable(),
  envsDir: z.string(),
  envs: z.number().int().describe('Envs on disk.'),
});
export type EnvironmentSummary = z.infer<typeof environmentSummarySchema>;

export const gcResultSchema = z.object({
  removed: z.array(z.string()).describe('Hashes of the envs removed.'),
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

export const statusResultSchema = z.object({
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
  memory: z.object({ usedMB: z.number(), maxMB: z.number() }),
  pods: z.number().int(),
  recipes: z.number().int(),
  connections: z.number().int(),
});
export type StatusResult = z.infer<typeof statusResultSchema>;

export const controlResultSchemas = {
  status: statusResultSchema,
  'pods.list': z.object({ pods: z.array(podInfoSchema) }),
  'pods.start': podInfoSchema,
  'pods.stop': z.object({ pods: z.array(podInfoSchema) }),
  call: z.unknown().describe("The pod's result."),
  'recipes.list': z.object({ recipes: z.array(recipeSummarySchema) }),
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

// ---------------------------------------------------------------- daemon → client

export const errorObjectSchema = z
  .looseObject({
    code: z.string().describe('A stable code (docs/protocol.md, "Error codes").'),
    message: z.string(),
  })
  .describe('More fields carry the facts: podId, exitCode, signal, stderrTail, field, …');
export type ErrorObject = z.infer<typeof errorObjectSchema>;

export const successResponseSchema = z.object({
  id: requestIdSchema,
  success: z.literal(true),
  result: z.unknown(),
});

export const failureResponseSchema = z.object({
  id: requestIdSchema.nullable().describe('null when the line had no usable id (bad JSON, oversized).'),
  success: z.literal(false),
  error: errorObjectSchema,
});

export const controlResponseSchema = z
  .discriminatedUnion('success', [successResponseSchema, failureResponseSchema])
  .describe('The one final answer to a request.');
export type ControlResponse = z.infer<typeof controlResponseSchema>;

const eventBase = { type: z.literal('event'), id: requestIdSchema };
const podEvent = { ...eventBase, podId: z.string(), recipe: z.string() };

/**
 * Events of `events.subscribe`, `logs.follow` (pod.log) and `recipes.install` (install.progress).
 * A client should ignore event names it does not know: later daemons may add some.
 */
export const controlEventSchema = z.discriminatedUnion('event', [
  z.object({
    ...eventBase,
    event: z.literal('stream.started'),
  }),
  z.object({ ...podEvent, event: z.literal('pod.spawned'), pid: z.number().int().optional() }),
  z.object({ ...podEvent, event: z.literal('pod.state'), from: podStateSchema, to: podStateSchema }),
  z.object({
    ...podEvent,
    event: z.literal('pod.ready'),
    spawnToReadyMs: z.number(),
    memoryMB: z.number(),
  }),
  z.object({ ...podEvent, event: z.literal('pod.reclaimed'), idleSeconds: z.number() }),
  z.object({ ...podEvent, event: z.literal('pod.evicted') }),
  z.object({ ...podEvent, event: z.literal('pod.stopped') }),
  z.object({
    ...podEvent,
    event: z.literal('pod.crashed'),
    reason: z.enum(['stopped', 'crashed', 'ready-timeout', 'killed']),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    uptimeMs: z.number(),
    stderrTail: z.array(z.string()),
  }),
  z.object({ ...eventBase, event: z.literal('pod.fatal'), recipe: z.string(), message: z.string() }),
  z.object({
    ...podEvent,
    event: z.literal('pod.log'),
    time: z.number(),
    source: z.enum(['stderr', 'pod', 'daemon']),
    level: logLevelSchema,
    message: z.string(),
  }),
  z.object({
    ...eventBase,
    event: z.literal('env.progress'),
    recipe: z.string(),
    hash: z.string().nullable(),
    phase: z.string().describe('resolving, downloading, installing, …'),
    message: z.string(),
  }),
  z.object({
    ...eventBase,
    event: z.literal('env.built'),
    recipe: z.string(),
    hash: z.string().nullable(),
    mode: z.string(),
    ms: z.number(),
  }),
  z.object({
    ...eventBase,
    event: z.literal('env.failed'),
    recipe: z.string(),
    hash: z.string().nullable(),
    message: z.string(),
    requirement: z.string().nullable(),
  }),
  z.object({
    ...eventBase,
    event: z.literal('env.command'),
    recipe: z.string().nullable(),
    command: z.string(),
    args: z.array(z.string()),
    exitCode: z.number().int().nullable(),
    ms: z.number(),
  }),
  z.object({
    ...eventBase,
    event: z.literal('env.removed'),
    recipe: z.string().nullable(),
    hash: z.string(),
    reason: z.string(),
  }),
  z.object({
    ...eventBase,
    event: z.literal('install.progress'),
    step: z.string(),
    progress: z.number().min(0).max(1).optional(),
    message: z.string().optional(),
  }),
]);
export type ControlEvent = z.infer<typeof controlEventSchema>;
/** An event as a handler emits it; the connection adds `type` and the request's `id`. */
export type ControlEventBody = ControlEvent extends infer E
  ? E extends ControlEvent
    ? Omit<E, 'type' | 'id'>
    : never
  : never;

/** A call's progress and chunks, forwarded from the pod with the caller's request id. */
export const controlProgressSchema = progressMessageSchema.extend({ id: requestIdSchema });
export const controlChunkSchema = chunkMessageSchema.extend({ id: requestIdSchema });

/** Every line the daemon sends. */
export const controlServerLineSchema = z.union([
  controlResponseSchema,
  controlProgressSchema,
  controlChunkSchema,
  controlEventSchema,
]);
export type ControlServerLine = z.infer<typeof controlServerLineSchema>;
