/** The control connection's error answers: a failure for an id, BAD_REQUEST, and the refusal of an unreadable line. */
import { PodkeeperError } from '../errors.js';
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
