/**
 * The control connection's error answers: a failure for an id, BAD_REQUEST, a handler's failure,
 * and the refusal of an unreadable line.
 */
import type { Logger } from 'pino';
import { isPodkeeperError, PodkeeperError } from '../errors.js';
import { type RequestId, requestIdSchema } from '../protocol/control.js';
import type { ErrorObject } from '../protocol/control-replies.js';
import type { InvalidLine } from '../transport/json-lines.js';

export function failure(id: RequestId | null, error: ErrorObject | Record<string, unknown>) {
  return { id, success: false, error };
}

export function badRequest(message: string, details: Record<string, unknown>): ErrorObject {
  return new PodkeeperError('BAD_REQUEST', message, { details }).toJSON() as ErrorObject;
}

/**
 * The answer to a line that could not be read: its id when its head shows one (else null), and
 * `UNREPRESENTABLE` for a number that cannot be carried exactly, else `BAD_REQUEST` with a `reason`.
 */
export function refusal(bad: InvalidLine) {
  const id = requestIdSchema.safeParse(bad.id);
  const details = { field: '(line)', reason: bad.reason };
  if (bad.reason === 'unrepresentable') {
    const error = new PodkeeperError('UNREPRESENTABLE', bad.detail, { details });
    return failure(id.success ? id.data : null, error.toJSON() as ErrorObject);
  }
  const what = bad.reason === 'json' ? `The line is not valid JSON: ${bad.preview.slice(0, 80)}` : bad.detail;
  return failure(id.success ? id.data : null, badRequest(what, details));
}

/** A handler's error as the client gets it; one that is not a PodkeeperError is logged and INTERNAL_ERROR. */
export function handlerFailure(error: unknown, action: string, log: Logger): ErrorObject {
  if (isPodkeeperError(error)) return error.toJSON() as ErrorObject;
  log.error({ err: error, action }, 'handler failed unexpectedly');
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL_ERROR', message: `The daemon failed while handling "${action}": ${message}` };
}
