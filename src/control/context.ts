/**
 * What a control handler is given: the manager, the daemon's services, and its own request's
 * channel back to the client (its events, its cancellation).
 */
import type { Cancellation } from '../cancellation.js';
import type { ManagerEvent } from '../manager/events.js';
import type { PodManager } from '../manager/pod-manager.js';
import type { ControlAction, ControlPayload, RequestId } from '../protocol/control.js';
import type { ControlEventBody } from '../protocol/control-replies.js';
import type { ControlResult, StatusResult } from '../protocol/control-results.js';
import type { ProgressMessage, RequestEvent } from '../protocol/pod.js';

/** Progress the daemon adds to a call before its handler runs (see `stage` in control-replies.ts). */
export type DaemonProgress = ProgressMessage & { stage: 'env' | 'starting' };

import type { Installer } from '../install/types.js';
import type { LogStore } from './log-store.js';

/** What `status` says of the daemon itself. */
export type DaemonFacts = Omit<
  StatusResult,
  'memory' | 'pods' | 'recipes' | 'envMode' | 'environment' | 'fatal' | 'zygotes'
>;

/** The daemon as its handlers see it (the daemon layer implements it; control never imports it). */
export interface DaemonServices {
  readonly manager: PodManager;
  readonly installer: Installer;
  readonly logs: LogStore;
  /** The daemon-level facts of `status` (the handler adds pods, memory, recipes and environments). */
  describe(): DaemonFacts;
  /** Starts a graceful shutdown once the current answer is written. */
  requestShutdown(reason: string): void;
}

export interface HandlerContext {
  readonly services: DaemonServices;
  readonly manager: PodManager;
  readonly requestId: RequestId;
  /**
   * Aborted when the client cancels this request, leaves, or (streams only) the daemon shuts down.
   * Its `reason` is a PodkeeperError: `CANCELLED` or `SHUTTING_DOWN`.
   */
  readonly signal: AbortSignal;
  /** The same as `signal`, without making an AbortController (made on first use of `signal`). */
  readonly cancellation: Cancellation;
  /** Forwards a call's progress or chunk to the client, with this request's id. */
  forward(event: RequestEvent | DaemonProgress): void;
  /** Sends an event of this request's stream (its own, or one of the manager's). */
  emit(event: ControlEventBody | ManagerEvent): void;
  /** Cancels another request in flight on the same connection; false when there is none. */
  cancel(id: RequestId): boolean;
}

export type Handler<A extends ControlAction> = (
  payload: ControlPayload<A>,
  context: HandlerContext,
) => Promise<ControlResult<A>>;

export type HandlerTable = { [A in ControlAction]: Handler<A> };
