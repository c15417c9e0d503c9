/**
 * Whether one decoded line is a request this connection can run: a valid envelope, a known action,
 * an id not already in flight, not refused (the daemon is stopping; `cancel` still goes through),
 * and a payload its action's schema accepts. Anything else is the answer to send instead.
 */
import { PodkeeperError } from '../errors.js';
import {
  type ControlAction,
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
  if (connection.inFlight(id)) {
    const message = `Request id ${JSON.stringify(id)} is already in flight on this connection; use a new id.`;
    return { ok: false, answer: failure(id, badRequest(message, { field: 'id' })) };
  }
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
