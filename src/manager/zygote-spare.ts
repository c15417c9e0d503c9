/**
 * A zygote's spare stand-in: the process the daemon spawns for a forked pod
 * (pods/podkeeper_pod/via_zygote.py), started ahead with `--spare` so that its interpreter start
 * (~10 ms, most of what is left of a forked cold start) is off the next pod's path. It waits for
 * `go <pod id>` on stdin, then does what a stand-in spawned on demand does.
 *
 *   refill() ─spawn─▶ spare (waiting) ─take(podId): "go podId" ─▶ the pod's process ─▶ refill()
 *                                   └─ discard(): end of input ─▶ it exits
 */
import type { PodProcess } from '../pod/spawn.js';
import { terminateGroup } from '../pod/terminate.js';

const DISCARD_GRACE_MS = 1000;

export class ZygoteSpare {
  readonly #spawn: () => PodProcess;
  #process: PodProcess | undefined;
  #alive = false;

  constructor(spawn: () => PodProcess) {
    this.#spawn = spawn;
  }

  /** The pid of the spare waiting now, if any (it counts in the memory budget). */
  get pid(): number | undefined {
    return this.#alive ? this.#process?.pid : undefined;
  }

  /** Starts a spare unless one waits. */
  refill(): void {
    if (this.#process) return;
    const spare = this.#spawn();
    spare.stdin.on('error', () => undefined); // EPIPE once it has exited: its exit says what happened
    this.#process = spare;
    this.#alive = spare.pid !== undefined;
    void spare.exited.then(() => {
      if (this.#process !== spare) return;
      this.#process = undefined;
      this.#alive = false;
    });
  }

  /** The waiting spare, told which pod it is; undefined when none waits (or it died meanwhile). */
  take(podId: string): PodProcess | undefined {
    const spare = this.#alive ? this.#process : undefined;
    this.#process = undefined;
    this.#alive = false;
    spare?.stdin.write(`go ${podId}\n`);
    return spare;
  }

  /** Ends the waiting spare, if any; resolves once it has exited. */
  async discard(): Promise<void> {
    const spare = this.#process;
    this.#process = undefined;
    this.#alive = false;
    if (spare?.pid === undefined) return;
    await terminateGroup(spare, spare.exited, DISCARD_GRACE_MS, () => spare.stdin.end());
  }
}
