/** One call on a live pod: the recipe's timeout and the caller's keep-alive applied, a traceback logged. */
import type { Cancellation } from '../cancellation.js';
import { PodkeeperError } from '../errors.js';
import type { Pod } from '../pod/pod.js';
import type { RequestEvent } from '../protocol/pod.js';
import { redact } from '../redact.js';
import type { ManagerEvent } from './events.js';
import type { Supervisor } from './supervisor.js';

export interface CallOptions {
  /** Recipe action. @default "process" */
  action?: string;
  /** Seconds without an answer or progress before `TIMEOUT`. @default the recipe's `timeout`, else none */
  timeout?: number;
  /** Seconds the pod stays after this call: 0 = stop after this reply, -1 = never (Ollama's keep_alive). */
  keepAlive?: number;
  signal?: AbortSignal;
  /**
   * @internal The daemon's cheaper `signal` for its clients' calls (see cancellation.ts); a caller
   * gives one or the other.
   */
  cancellation?: Cancellation;
  /** The call's progress and chunk events, as they arrive. */
  onEvent?: (event: RequestEvent) => void;
  /** A big result comes as a RawJson, the bytes of its JSON, to be relayed as is. @default false */
  raw?: boolean;
}

/** A call's timeout in ms: its own, else its recipe's; undefined for none. */
export function callTimeoutMs(supervisor: Supervisor, options: CallOptions): number | undefined {
  const timeout = options.timeout ?? supervisor.loaded.recipe.timeout;
  return timeout === undefined ? undefined : timeout * 1000;
}

export function requestOn(
  supervisor: Supervisor,
  pod: Pod,
  input: unknown,
  options: CallOptions,
  emit: (event: ManagerEvent) => void,
): Promise<unknown> {
  if (options.keepAlive !== undefined) supervisor.keepAlive = options.keepAlive;
  const action = options.action ?? 'process';
  const answer = pod.request(action, input, {
    timeoutMs: callTimeoutMs(supervisor, options),
    signal: options.signal,
    cancellation: options.cancellation,
    onEvent: options.onEvent,
    raw: options.raw,
  });
  // A branch beside the answer, not a link in its chain: the caller is answered a tick sooner.
  answer.catch((error: unknown) => logTraceback(pod, action, error, emit));
  return answer;
}

/** A handler's traceback goes to the recipe's logs too: the caller may not print it. */
function logTraceback(pod: Pod, action: string, error: unknown, emit: (event: ManagerEvent) => void): void {
  if (!(error instanceof PodkeeperError)) return;
  const traceback = error.details['traceback'];
  if (typeof traceback !== 'string' || traceback.trim() === '') return;
  emit({
    event: 'pod.log',
    podId: pod.id,
    recipe: pod.recipe,
    time: Date.now(),
    source: 'daemon',
    level: 'error',
    message: redact(`call ${action} failed: ${error.code}: ${error.message}\n${traceback.trimEnd()}`),
  });
}
