/**
 * Control protocol v1, daemon → client: the one final answer per request (success or error), a
 * call's progress and chunks, and the events of subscriptions and installs (see `control.ts`).
 */
import { z } from 'zod';
import { requestIdSchema } from './control.js';
import { podStateSchema } from './control-results.js';
import { chunkMessageSchema, logLevelSchema, progressMessageSchema } from './pod.js';

const errorObjectSchema = z
  .looseObject({
    code: z.string().describe('A stable code (docs/protocol.md, "Error codes").'),
    message: z.string(),
  })
  .describe('More fields carry the facts: podId, exitCode, signal, stderrTail, field, …');
export type ErrorObject = z.infer<typeof errorObjectSchema>;

const successResponseSchema = z.object({
  id: requestIdSchema,
  success: z.literal(true),
  result: z.unknown(),
});

const failureResponseSchema = z.object({
  id: requestIdSchema.nullable().describe('null when the line had no usable id (bad JSON, oversized).'),
  success: z.literal(false),
  error: errorObjectSchema,
});

export const controlResponseSchema = z
  .discriminatedUnion('success', [successResponseSchema, failureResponseSchema])
  .describe('The one final answer to a request.');

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
  z
    .object({
      ...eventBase,
      event: z.literal('lagged'),
      dropped: z.number().int().min(1).describe('Events of this stream skipped since the last one sent.'),
    })
    .describe('The client did not read: events of this stream were skipped, not queued.'),
  z.object({ ...podEvent, event: z.literal('pod.spawned'), pid: z.number().int().optional() }),
  z.object({ ...podEvent, event: z.literal('pod.state'), from: podStateSchema, to: podStateSchema }),
  z.object({
    ...podEvent,
    event: z.literal('pod.ready'),
    spawnToReadyMs: z.number(),
    memoryMB: z.number(),
    pid: z
      .number()
      .int()
      .optional()
      .describe("The pid pods.list shows from now on: the runner's; a remote pod's, its local process."),
  }),
  z.object({ ...podEvent, event: z.literal('pod.reclaimed'), idleSeconds: z.number() }),
  z.object({ ...podEvent, event: z.literal('pod.evicted') }),
  z.object({
    ...podEvent,
    event: z.literal('pod.stopped'),
    reason: z
      .object({
        why: z.enum(['idle', 'keepAlive', 'evicted', 'stopped', 'upgraded', 'shutdown']),
        idleSeconds: z.number().optional(),
        for: z.string().optional(),
      })
      .optional()
      .describe(
        'Why it was stopped: idle, keep-alive 0, evicted for another recipe, a stop request, upgraded, shutdown.',
      ),
  }),
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
export const controlProgressSchema = progressMessageSchema.extend({
  id: requestIdSchema,
  stage: z
    .enum(['env', 'starting'])
    .optional()
    .describe(
      "The daemon's own progress before the handler runs: the recipe's env being built, or its pod starting " +
        "(with its log lines). Absent on the handler's own progress.",
    ),
});
export const controlChunkSchema = chunkMessageSchema.extend({ id: requestIdSchema });

/** Every line the daemon sends. */
export const controlServerLineSchema = z.union([
  controlResponseSchema,
  controlProgressSchema,
  controlChunkSchema,
  controlEventSchema,
]);
