/**
 * Whether one decoded line is a request this connection can run: a valid envelope, a known action,
 * an id not already in flight, not refused (the daemon is stopping; `cancel` still goes through),
 * and a payload its action's schema accepts. Anything else is the answer to send instead.
 */
import { PodkeeperError } from '../errors.js';
import {
  type ControlAction,
  type ControlPayload,
  controlPayloadSchemas,
  controlRequestSchema,
  isControlAction,
  type RequestId,
  requestIdSchema,
} from '../protocol/control.js';
import { describeIssue } from './describe-issue.js';
import { badRequest, failure } from './replies.js';

const KNOWN_ACTIONS = Object.keys(controlPayloadSchemas).join(', ');

export type CheckedRequest =
  | { ok: true; id: RequestId; action: ControlAction; payload: unknown }
  | { ok: false; answer: ReturnType<typeof failure> };

export function checkRequest(
  raw: unknown,
  connection: { inFlight: (id: RequestId) => boolean; refusing: PodkeeperError | undefined },
): CheckedRequest {
  const call = validCall(raw);
  if (call !== undefined) {
    // The same answers, in the same order, as below for a request whose envelope and payload are valid.
    if (connection.inFlight(call.id)) return { ok: false, answer: alreadyInFlight(call.id) };
    if (connection.refusing) return { ok: false, answer: failure(call.id, connection.refusing.toJSON()) };
    return { ok: true, id: call.id, action: 'call', payload: call.payload };
  }
  const envelope = controlRequestSchema.safeParse(raw);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    const id = requestIdSchema.safeParse((raw as { id?: unknown } | null)?.id);
    const field = issue?.path.join('.') || '(root)';
    const error = badRequest(`Bad request: ${describeIssue(issue)}`, { field });
    return { ok: false, answer: failure(id.success ? id.data : null, error) };
  }
  const { id, action, payload } = envelope.data;
  if (!isControlAction(action)) {
    const error = new PodkeeperError(
      'UNKNOWN_ACTION',
      `Unknown action "${action}". Known actions: ${KNOWN_ACTIONS}.`,
      {
        details: { field: 'action', action, known: Object.keys(controlPayloadSchemas) },
      },
    );
    return { ok: false, answer: failure(id, error.toJSON()) };
  }
  if (connection.inFlight(id)) return { ok: false, answer: alreadyInFlight(id) };
  if (connection.refusing && action !== 'cancel') {
    return { ok: false, answer: failure(id, connection.refusing.toJSON()) };
  }
  const parsed = controlPayloadSchemas[action].safeParse(payload ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.');
    const field = path ? `payload.${path}` : 'payload';
    const message = `Bad payload for "${action}": ${describeIssue(issue, 'payload.')}`;
    return { ok: false, answer: failure(id, badRequest(message, { field, action })) };
  }
  return { ok: true, id, action, payload: parsed.data };
}

function alreadyInFlight(id: RequestId) {
  const message = `Request id ${JSON.stringify(id)} is already in flight on this connection; use a new id.`;
  return failure(id, badRequest(message, { field: 'id' }));
}

const CALL_KEYS: Readonly<Record<string, true | undefined>> = {
  target: true,
  action: true,
  input: true,
  timeout: true,
  keepAlive: true,
};

/**
 * A `call` whose envelope and payload the zod schemas would accept, checked by hand: the commonest
 * request, and zod's two parses were ~2 µs of the daemon's time per warm call. The rules are
 * controlRequestSchema's and the call payload schema's (a test compares the two on many inputs);
 * anything else, valid or not, is undefined and goes through zod, which also words the refusal.
 * The payload comes back as it is (zod would copy it: same keys, same values).
 */
export function validCall(raw: unknown): { id: RequestId; payload: ControlPayload<'call'> } | undefined {
  if (!isPlainRecord(raw) || raw['action'] !== 'call') return undefined;
  const { id, payload } = raw;
  if (!isRequestId(id) || !isPlainRecord(payload)) return undefined;
  for (const key in raw) if (key !== 'id' && key !== 'action' && key !== 'payload') return undefined;
  for (const key in payload) if (CALL_KEYS[key] !== true) return undefined;
  const { target, action, timeout, keepAlive } = payload;
  if (!isText(target, 256)) return undefined;
  if (action !== undefined && !isText(action, 128)) return undefined;
  if (timeout !== undefined && !(isNumber(timeout) && timeout > 0 && timeout <= MAX_TIMEOUT))
    return undefined;
  if (keepAlive !== undefined && !(isNumber(keepAlive) && keepAlive >= -1)) return undefined;
  return { id, payload: payload as ControlPayload<'call'> };
}

const MAX_TIMEOUT = 7 * 24 * 3600;

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is RequestId {
  return isText(value, 256) || (Number.isSafeInteger(value) && (value as number) >= 0);
}

function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
