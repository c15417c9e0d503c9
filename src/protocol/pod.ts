/**
 * Pod wire protocol, version 2 (docs/architecture.md#protocols): one JSON object per line on the
 * pod's stdin (daemon → pod) and stdout (pod → daemon). These schemas are the single definition of
 * every message; the Python runner (`pods/podkeeper_pod/protocol.py`) mirrors them and both sides
 * are checked against the same fixtures (`test/fixtures/protocol/pod-wire-v1.json`).
 */
import { z } from 'zod';

export const POD_PROTOCOL_VERSION = 2;

const requestId = z.string().min(1).max(256);

// ---------------------------------------------------------------- daemon → pod

export const podRequestSchema = z.strictObject({
  id: requestId,
  action: z.string().min(1).max(128).default('process'),
  payload: z.unknown().optional(),
});
export type PodRequest = z.input<typeof podRequestSchema>;

// ---------------------------------------------------------------- pod → daemon

export const logLevelSchema = z.enum(['debug', 'info', 'warning', 'error']);
export type LogLevel = z.infer<typeof logLevelSchema>;

const readyMessageSchema = z.object({
  type: z.literal('ready'),
  capability: z.string(),
  backend: z.string(),
  memoryMB: z.number().nonnegative(),
  pid: z.number().int().positive(),
  protocol: z.literal(POD_PROTOCOL_VERSION),
  actions: z.array(z.string()),
  python: z.string(),
  guardian: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      'A pod forked from a zygote: the pid of the guardian owning its process tree (forked by the zygote, not spawned by the daemon).',
    ),
});
export type ReadyMessage = z.infer<typeof readyMessageSchema>;

const logMessageSchema = z.object({
  type: z.literal('log'),
  level: logLevelSchema,
  message: z.string(),
  timestamp: z.string(),
});
export type LogMessage = z.infer<typeof logMessageSchema>;

export const progressMessageSchema = z.object({
  type: z.literal('progress'),
  id: requestId,
  progress: z.number().min(0).max(1),
  message: z.string().optional(),
});
export type ProgressMessage = z.infer<typeof progressMessageSchema>;

export const chunkMessageSchema = z.object({
  type: z.literal('chunk'),
  id: requestId,
  data: z.unknown(),
});
export type ChunkMessage = z.infer<typeof chunkMessageSchema>;

const errorBodySchema = z.object({
  code: z.string().min(1),
  message: z.string(),
  traceback: z.string().optional(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

const successResultSchema = z.object({
  id: requestId,
  success: z.literal(true),
  result: z.unknown(),
});

const failureResultSchema = z.object({
  id: requestId,
  success: z.literal(false),
  error: errorBodySchema,
});

const resultMessageSchema = z.discriminatedUnion('success', [successResultSchema, failureResultSchema]);
export type ResultMessage = z.infer<typeof resultMessageSchema>;

/**
 * The runner's answer to a request line it could not read and in which it found no id: the daemon
 * fails the oldest request it sent to the pod and has not had answered.
 */
const invalidMessageSchema = z.object({
  type: z.literal('invalid'),
  error: errorBodySchema,
});
export type InvalidMessage = z.infer<typeof invalidMessageSchema>;

/** A request's own events, forwarded to its caller as they arrive. */
export type RequestEvent = ProgressMessage | ChunkMessage;

const podMessageSchema = z.union([
  readyMessageSchema,
  logMessageSchema,
  progressMessageSchema,
  chunkMessageSchema,
  invalidMessageSchema,
  resultMessageSchema,
]);
export type PodMessage = z.infer<typeof podMessageSchema>;

/**
 * The version a `ready` line names when it is not ours (`undefined` for any other line, and for
 * ours): the handshake, read before the message's schema, since another version's `ready` may not
 * follow ours in its other fields either.
 */
export function foreignProtocol(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || (value as { type?: unknown }).type !== 'ready') return;
  const { protocol } = value as { protocol?: unknown };
  return protocol === POD_PROTOCOL_VERSION ? undefined : (protocol ?? null);
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const byType = {
  ready: readyMessageSchema,
  log: logMessageSchema,
  progress: progressMessageSchema,
  chunk: chunkMessageSchema,
  invalid: invalidMessageSchema,
} as const;

/**
 * Parses one decoded line from a pod. Dispatches on `type` instead of trying every member of the
 * union, since this runs for every message on the hot path.
 */
export function parsePodMessage(value: unknown): ParseResult<PodMessage> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'a pod message must be a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  // The commonest line, a success, checked by hand: the same rules as successResultSchema, ~1 µs less.
  const { id, success } = value as { id?: unknown; success?: unknown };
  if (type === undefined && success === true && typeof id === 'string' && id.length > 0 && id.length <= 256) {
    if ('result' in value) return { ok: true, value: value as ResultMessage };
  }
  const schema =
    type === undefined
      ? resultMessageSchema
      : typeof type === 'string'
        ? byType[type as keyof typeof byType]
        : undefined;
  if (!schema) return { ok: false, error: `type: unknown message type ${JSON.stringify(type)}` };
  const parsed = schema.safeParse(value);
  if (parsed.success) {
    // zod lets an unknown-typed key be absent; the protocol says a success always carries `result`.
    if (type === undefined && (value as { success?: unknown }).success === true && !('result' in value)) {
      return { ok: false, error: 'result: a success must carry `result` (null for none)' };
    }
    return { ok: true, value: parsed.data };
  }
  const issue = parsed.error.issues[0];
  return { ok: false, error: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
}
