/**
 * Control protocol, version 2 (docs/architecture.md#protocols): what a host, the CLI and the
 * client library say to the daemon, one JSON object per line, over the daemon's Unix socket or its
 * stdio (`daemon --stdio`). These schemas are the single definition of every message; the JSON
 * Schemas in `docs/schemas/` are generated from them (`npm run schemas`), and `docs/protocol.md`
 * explains them.
 *
 *   client → daemon   {"id":"1","action":"call","payload":{"target":"echo","input":{"text":"hi"}}}
 *   daemon → client   {"type":"progress","id":"1","progress":0.5}          (a call's own events)
 *                     {"type":"chunk","id":"1","data":{"token":"hi"}}
 *                     {"type":"event","id":"7","event":"pod.ready",…}       (a subscription's events)
 *                     {"id":"1","success":true,"result":{"text":"hi"}}     (exactly one per request)
 *                     {"id":null,"success":false,"error":{"code":"BAD_REQUEST",…}}  (a line with no id)
 *
 * This file holds the requests (envelope, one payload schema per action); the results of each action
 * are in `control-results.ts`, and every line the daemon sends in `control-replies.ts`.
 */
import { z } from 'zod';

export const CONTROL_PROTOCOL_VERSION = 2;

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

// ---------------------------------------------------------------- payloads

const target = z.string().min(1).max(256).describe('A recipe name or a capability.');
const podId = z.string().min(1).max(256).describe('A pod id, as `pods.list` shows it.');
const empty = z.strictObject({});

/** Names of the events a subscriber can ask for (`events.subscribe` `events` filter). */
const EVENT_NAMES = [
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
const eventNameSchema = z.enum(EVENT_NAMES);
export type EventName = z.infer<typeof eventNameSchema>;

const podSelectorPayloadSchema = z
  .strictObject({
    target: target.optional(),
    podId: podId.optional(),
    all: z.literal(true).optional(),
  })
  .refine((p) => [p.target, p.podId, p.all].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of `target`, `podId` or `all: true`',
  });

const callPayloadSchema = z.strictObject({
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

const logsPayloadSchema = z
  .strictObject({
    target: target.optional(),
    podId: podId.optional(),
    lines: z.number().int().min(0).max(10_000).optional().describe('How many recent lines. Default 100.'),
  })
  .refine((p) => p.target === undefined || p.podId === undefined, {
    message: 'give at most one of `target` and `podId`',
  });

const followPayloadSchema = z
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

const subscribePayloadSchema = z.strictObject({
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
  'recipes.list': z.strictObject({
    available: z
      .boolean()
      .optional()
      .describe('Also list the recipe index: what can be installed, with sizes.'),
  }),
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
