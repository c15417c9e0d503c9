/** How the CLI shows long work: a bar on a terminal, plain lines otherwise (DESIGN §7). */
import cliProgress from 'cli-progress';

/** A progress bar on a terminal, plain `progress 40% message` lines otherwise, nothing with --json. */
export class ProgressView {
  readonly #tty: boolean;
  readonly #quiet: boolean;
  #bar: cliProgress.SingleBar | undefined;

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

  pause(): void {
    this.stop();
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}
