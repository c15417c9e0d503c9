/**
 * One error class for every failure podkeeper reports. Each carries a stable string `code`
 * (docs/architecture.md#errors), the facts of the failure in `details` (pod id, exit code, signal,
 * stderr tail...) and an optional `cause`. `toJSON()` is what crosses the wire.
 */
import { redactJson } from './redact.js';

export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNKNOWN_ACTION',
  'UNKNOWN_TARGET',
  'QUEUE_FULL',
  'TIMEOUT',
  'CANCELLED',
  'POD_CRASHED',
  'POD_FATAL',
  'READY_TIMEOUT',
  'PROTOCOL_MISMATCH',
  'SPAWN_FAILED',
  'NO_MEMORY',
  'HANDLER_ERROR',
  'ENV_BUILD_FAILED',
  'INSTALL_FAILED',
  'INTEGRITY_ERROR',
  'UNSAFE_ARCHIVE',
  'DAEMON_NOT_RUNNING',
  'DAEMON_ALREADY_RUNNING',
  'SHUTTING_DOWN',
  'CHANNEL_CLOSED',
  'INVALID_RECIPE',
  'INVALID_OPTION',
  'INVALID_STATE',
  'INTERNAL_ERROR',
  'RESPONSE_TOO_LONG',
  'BAD_RESPONSE',
  'UNREPRESENTABLE',
  'UNAUTHORIZED',
  'RESOURCE_EXHAUSTED',
  'NO_CAPACITY',
  'REMOTE_LOST',
  'REMOTE_UNAVAILABLE',
  'UNSUPPORTED_NODE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface PodkeeperErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class PodkeeperError extends Error {
  override readonly name = 'PodkeeperError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: PodkeeperErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** Rebuilds an error from its wire form (`toJSON()`'s output): its other fields go back into `details`. */
  static fromJSON(wire: { code: string; message: string; [field: string]: unknown }): PodkeeperError {
    const { code, message, ...details } = wire;
    return new PodkeeperError(code as ErrorCode, message, { details });
  }

  /** The wire form, with credentials hidden (see redact.ts). */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { code: this.code, message: this.message, ...this.details };
    if (this.cause !== undefined) json['cause'] = describeCause(this.cause);
    return redactJson(json);
  }
}

/** True when `error` is a PodkeeperError, optionally with the given code. */
export function isPodkeeperError(error: unknown, code?: ErrorCode): error is PodkeeperError {
  return error instanceof PodkeeperError && (code === undefined || error.code === code);
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}

/** The code of a line that could not be read, by the transport's reason (too long, inexact, other). */
export function unreadableLineCode(reason: string): 'RESPONSE_TOO_LONG' | 'UNREPRESENTABLE' | 'BAD_RESPONSE' {
  if (reason === 'too-long') return 'RESPONSE_TOO_LONG';
  return reason === 'unrepresentable' ? 'UNREPRESENTABLE' : 'BAD_RESPONSE';
}
