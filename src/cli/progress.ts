/**
 * How the CLI shows long work: a bar on a terminal, plain lines otherwise
 * (docs/architecture.md#home-configuration-and-clients).
 */
import cliProgress from 'cli-progress';

/** A progress bar on a terminal, plain `progress 40% message` lines otherwise, nothing with --json. */
export class ProgressView {
  readonly #tty: boolean;
  readonly #quiet: boolean;
  #bar: cliProgress.SingleBar | undefined;
  #stage: 'env' | 'handler' | undefined;

  constructor(tty: boolean, quiet: boolean) {
    this.#tty = tty;
    this.#quiet = quiet;
  }

  /** `progress` in 0..1; `label` prefixes plain lines (`progress 40% …`, `fetch 40% …`). */
  show(event: { progress?: number; message?: string }, label = 'progress'): void {
    if (this.#quiet) return;
    const percent = Math.round((event.progress ?? 0) * 100);
    if (!this.#tty) {
      const shown = event.progress === undefined ? '' : ` ${percent}%`;
      process.stderr.write(`${label}${shown}${event.message ? ` ${event.message}` : ''}\n`);
      return;
    }
    const message = `${label === 'progress' ? '' : `${label}: `}${event.message ?? ''}`;
    if (!this.#bar) {
      this.#bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: '{bar} {percentage}% {message}',
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(100, percent, { message });
    } else this.#bar.update(percent, { message });
  }

  /**
   * What the daemon is doing before the handler runs (`stage` progress): a starting pod's lines are
   * printed as lines, the env build gets its own bar; the handler's progress then starts a fresh
   * bar rather than running the env's backwards.
   */
  showCall(event: { progress: number; message?: string; stage?: 'env' | 'starting' }): void {
    if (this.#quiet) return;
    if (event.stage === 'starting') {
      this.stop();
      process.stderr.write(`${event.message ?? ''}\n`);
      return;
    }
    const stage = event.stage ?? 'handler';
    if (stage !== this.#stage) this.stop();
    this.#stage = stage;
    this.show(event);
  }

  pause(): void {
    this.stop();
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}
