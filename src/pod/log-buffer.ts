import type { LogLevel } from '../protocol/pod.js';

/** One line of a pod's log: its stderr, a `log` message it sent, or a note from the daemon. */
export interface PodLogLine {
  /** Epoch milliseconds. */
  time: number;
  podId: string;
  source: 'stderr' | 'pod' | 'daemon';
  level: LogLevel;
  message: string;
}

/** A fixed-size ring of the most recent log lines of one pod. */
export class LogBuffer {
  readonly #lines: (PodLogLine | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#lines = new Array(Math.max(1, capacity));
  }

  push(line: PodLogLine): void {
    this.#lines[this.#next] = line;
    this.#next = (this.#next + 1) % this.#lines.length;
    if (this.#size < this.#lines.length) this.#size += 1;
  }

  /** The last `count` lines, oldest first, optionally only those matching `filter`. */
  tail(count = this.#size, filter?: (line: PodLogLine) => boolean): PodLogLine[] {
    const out: PodLogLine[] = [];
    const capacity = this.#lines.length;
    for (let i = 1; i <= this.#size && out.length < count; i++) {
      const line = this.#lines[(this.#next - i + capacity) % capacity];
      if (line && (!filter || filter(line))) out.push(line);
    }
    return out.reverse();
  }
}
