/**
 * Where a call goes: straight to a running pod of a recipe named directly (the hot path, without a
 * single await; a replicated recipe's call may wait for a free replica, see fair-queue.ts), else to
 * the pod its supervisor acquires, spawning one when none is up. While the
 * metrics count calls, each call's duration and outcome is reported once it is answered.
 */
import { PodkeeperError } from '../errors.js';
import type { Pod } from '../pod/pod.js';
import type { CallFinished, ManagerEvent } from './events.js';
import type { WaitingCall } from './fair-queue.js';
import { type CallOptions, callTimeoutMs, requestOn } from './pod-call.js';
import type { Supervisor } from './supervisor.js';

/** What {@link routeCall} needs from the manager. */
export interface CallRouting {
  /** False until the manager has started, and once it is closing: no call takes the hot path. */
  accepting(): boolean;
  /** The supervisor of the recipe named `target`, if there is one. */
  get(target: string): Supervisor | undefined;
  /** The target's supervisor, made when needed (throws `UNKNOWN_TARGET`, `SHUTTING_DOWN`). */
  supervisor(target: string): Promise<Supervisor>;
  /** The recipe name `target` (a name or capability) resolves to; throws when none. */
  resolveName(target: string): string;
  emit(event: ManagerEvent): void;
  /** True while someone counts calls (the metrics): only then is each call timed and reported. */
  observed(): boolean;
  finished(call: CallFinished): void;
}

/** Calls a recipe (by name or capability), spawning its pod when none is running. */
export function routeCall(
  target: string,
  input: unknown,
  options: CallOptions,
  routing: CallRouting,
): Promise<unknown> {
  const observed = routing.observed();
  const started = observed ? performance.now() : 0;
  const supervisor = routing.accepting() ? routing.get(target) : undefined;
  let answer: Promise<unknown> | undefined;
  if (supervisor?.replicated)
    answer = supervisor.dispatch(waitingCall(supervisor, input, options, routing.emit));
  else {
    const pod = supervisor?.podForCall();
    if (supervisor && pod) answer = requestOn(supervisor, pod, input, options, routing.emit);
  }
  answer ??= callAfterSpawn(target, input, options, routing);
  // Nobody counts calls (no metrics page): no clock read, no branch on the answer, no record.
  if (!observed) return answer;
  const finished = (outcome: string) =>
    routing.finished({ recipe: nameOf(target, routing), ms: performance.now() - started, outcome });
  answer.then(
    () => finished('ok'),
    (error: unknown) => finished(error instanceof PodkeeperError ? error.code : 'INTERNAL_ERROR'),
  );
  return answer;
}

/** A call of a replicated recipe, as its supervisor sends it now or once a replica has a free slot. */
function waitingCall(
  supervisor: Supervisor,
  input: unknown,
  options: CallOptions,
  emit: (event: ManagerEvent) => void,
): WaitingCall<Pod> {
  return {
    timeoutMs: callTimeoutMs(supervisor, options),
    signal: options.signal,
    cancellation: options.cancellation,
    send: (pod) => requestOn(supervisor, pod, input, options, emit),
  };
}

/** The recipe name a target resolves to, or the target as given when it resolves to none. */
function nameOf(target: string, routing: CallRouting): string {
  if (routing.get(target)) return target;
  try {
    return routing.resolveName(target);
  } catch {
    return target;
  }
}

async function callAfterSpawn(
  target: string,
  input: unknown,
  options: CallOptions,
  routing: CallRouting,
): Promise<unknown> {
  const supervisor = await routing.supervisor(target);
  if (supervisor.replicated) {
    // A capability, or no pod live yet: the call waits in the recipe's queue like any other.
    const call = waitingCall(supervisor, input, options, routing.emit);
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = supervisor.dispatch(call);
      if (answer) return answer;
      await supervisor.acquire(options.signal ?? options.cancellation?.signal);
    }
  }
  for (let attempt = 0; ; attempt++) {
    const pod = await supervisor.acquire(options.signal ?? options.cancellation?.signal);
    if (pod.state === 'stopping' && attempt < 3) continue;
    return requestOn(supervisor, pod, input, options, routing.emit);
  }
}
