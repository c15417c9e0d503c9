import type { Cancellation } from '../cancellation.js';
import type { ManagerEvent } from '../manager/events.js';
import type { PodManager } from '../manager/pod-manager.js';
import type { RequestId } from '../protocol/control.js';
import type { ControlEventBody } from '../protocol/control-replies.js';
import type { RequestEvent } from '../protocol/pod.js';
import type { DaemonProgress, DaemonServices, HandlerContext } from './context.js';

/**
 * What a handler gets for one request. A class, not an object literal: `signal` is a getter (the
 * AbortSignal is made on first use), and V8 builds an object literal with a getter through a runtime
 * call, a few µs per request, where a class keeps the getter on its prototype.
 */
export class RequestContext implements HandlerContext {
  readonly services: DaemonServices;
  readonly manager: PodManager;
  readonly requestId: RequestId;
  readonly cancellation: Cancellation;
  readonly forward: (event: RequestEvent | DaemonProgress) => void;
  readonly emit: (event: ControlEventBody | ManagerEvent) => void;
  readonly cancel: (id: RequestId) => boolean;

  constructor(
    services: DaemonServices,
    requestId: RequestId,
    cancellation: Cancellation,
    to: Pick<HandlerContext, 'forward' | 'emit' | 'cancel'>,
  ) {
    this.services = services;
    this.manager = services.manager;
    this.requestId = requestId;
    this.cancellation = cancellation;
    this.forward = to.forward;
    this.emit = to.emit;
    this.cancel = to.cancel;
  }

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }
}
