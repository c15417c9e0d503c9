/**
 * A stand-in for a Pod in the unit tests of the supervisor and the memory budget: the state, the
 * events and the stop they read, with no process. Real pods are in pod-lifecycle and manager.
 */
import { PodkeeperError } from '../../src/errors.js';
import { Emitter } from '../../src/events.js';
import type { Pod, PodEvents, PodExit, PodState } from '../../src/pod/pod.js';
import type { ExitReason } from '../../src/pod/types.js';

export class FakePod {
  readonly events = new Emitter<PodEvents>();
  state: PodState = 'ready';
  pid: number | undefined;
  lastUsedAt = Date.now();
  lastUsedMono = performance.now();
  readyInfo: unknown = { memoryMB: 10 };
  /** Requests sent and not answered, and waiting for a slot: what replica choice reads. */
  inFlight = 0;
  queued = 0;
  stops = 0;
  readonly exited: Promise<PodExit>;
  #exit!: (exit: PodExit) => void;

  constructor(
    readonly id: string,
    readonly recipe = 'r',
    pid?: number,
  ) {
    this.pid = pid;
    this.exited = new Promise((resolve) => {
      this.#exit = resolve;
    });
  }

  get idle(): boolean {
    return this.state === 'ready' && this.inFlight === 0 && this.queued === 0;
  }

  get asPod(): Pod {
    return this as unknown as Pod;
  }

  /** A reply left the pod idle (what Pod emits after each answer). */
  becomeIdle(): void {
    this.state = 'ready';
    this.inFlight = 0;
    this.queued = 0;
    this.lastUsedAt = Date.now();
    this.lastUsedMono = performance.now();
    this.events.emit('settled', this.asPod);
    this.events.emit('idle', { pod: this.asPod });
  }

  stop(): Promise<PodExit> {
    this.stops += 1;
    this.end('stopped');
    return this.exited;
  }

  /** Ends the pod: `reason`, with the facts a real exit carries. */
  end(
    reason: ExitReason,
    facts: { uptimeMs?: number; signal?: string | null; exitCode?: number | null } = {},
  ) {
    if (this.state === 'stopped' || this.state === 'crashed') return;
    this.state = reason === 'stopped' ? 'stopped' : 'crashed';
    const exit: PodExit = {
      pod: this.asPod,
      reason,
      facts: {
        podId: this.id,
        recipe: this.recipe,
        pid: this.pid,
        exitCode: facts.exitCode ?? null,
        signal: facts.signal ?? null,
        stderrTail: [],
        uptimeMs: facts.uptimeMs ?? 100,
      },
      error: new PodkeeperError(reason === 'stopped' ? 'SHUTTING_DOWN' : 'POD_CRASHED', `pod ${reason}`),
    };
    this.events.emit('exit', exit);
    this.#exit(exit);
  }
}
