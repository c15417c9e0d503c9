/**
 * What every part of env preparation shares: the options, the logger, the store, the abort of
 * running builds, the installer (found once), and the helpers that run commands and report progress.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PodkeeperError } from '../errors.js';
import { runCommand } from '../process/command.js';
import { redact, rememberSecrets } from '../redact.js';
import type { EnvEvent } from './events.js';
import { discoverInstaller, type Installer, type Run } from './installer.js';
import type { EnvMode } from './mode.js';
import type { EnvPhase } from './progress.js';
import type { PythonInterpreter } from './python.js';
import { EnvStore } from './store.js';

export interface EnvironmentsOptions {
  home: string;
  mode: EnvMode;
  /** The base interpreter; in system mode, the system interpreter packages go into. */
  base: PythonInterpreter;
  /** An explicit uv (the `uv` option or PODKEEPER_UV). */
  uv: string | undefined;
  /** A folder of wheels, passed to the installer as `--find-links`. */
  wheelhouse: string | undefined;
  /** Allow uv to download a Python the recipe needs; undefined leaves it to UV_PYTHON_DOWNLOADS. */
  pythonDownloads: boolean | undefined;
  /** Per command. */
  timeoutMs: number;
  /** The environment of every command (the daemon's, plus the manager's `env` option). */
  env: Record<string, string | undefined>;
  logger: Logger;
  emit: (event: EnvEvent) => void;
  /** Inside a container? @default detected */
  container: boolean;
  /** @default 10 000 */
  lockStaleMs?: number;
  /** How long a failed build is answered from memory. @default 30 000 */
  retryAfterMs?: number;
}

export interface PreparedEnv {
  /** `remote`: the recipe is placed on a remote launcher; its env is built on the node, none here. */
  kind: 'base' | 'venv' | 'system' | 'remote';
  /** The interpreter the pod runs (for `remote`, the launcher's local process: Ray's bridge). */
  executable: string;
  /** venv mode: the env's hash and folder. */
  hash?: string;
  dir?: string;
}

export type InstallerState = Installer | { kind: 'unavailable'; reason: string };

export class EnvContext {
  readonly options: EnvironmentsOptions;
  readonly log: Logger;
  readonly store: EnvStore;
  readonly #abort = new AbortController();
  #installer: Promise<Installer> | undefined;
  /** A look-up for `status` in progress, shared by concurrent callers. */
  #lookingUp: Promise<Installer> | undefined;

  constructor(options: EnvironmentsOptions) {
    this.options = options;
    rememberSecrets(options.env);
    this.log = options.logger.child({ component: 'env' });
    this.store = new EnvStore(join(options.home, 'envs'));
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  abort(): void {
    this.#abort.abort();
  }

  /** The installer builds use, found (and installed if need be) once. */
  installer(): Promise<Installer> {
    this.#installer ??= this.#discover(true).then((installer) => {
      const where =
        installer.kind === 'uv' ? `uv ${installer.version} (${installer.source}: ${installer.path})` : 'pip';
      if (installer.kind === 'pip')
        this.log.warn(`building envs with python -m venv + pip: ${installer.reason}`);
      else this.log.info(`building envs with ${where}`);
      return installer;
    });
    this.#installer.catch(() => {
      this.#installer = undefined;
    });
    return this.#installer;
  }

  /** The installer as status reports it, found without installing one. */
  async installerState(): Promise<InstallerState> {
    // Concurrent `status` requests share one look-up (each runs commands: a flood would exhaust fds).
    const lookUp = () =>
      (this.#lookingUp ??= this.#discover(false).finally(() => {
        this.#lookingUp = undefined;
      }));
    const installer: InstallerState = await (this.#installer ?? lookUp()).catch((error: unknown) => ({
      kind: 'unavailable' as const,
      reason: (error as Error).message,
    }));
    // A uv found without installing anything is what builds will use: keep it.
    if (installer.kind === 'uv') this.#installer ??= Promise.resolve(installer);
    return installer;
  }

  #discover(install: boolean): Promise<Installer> {
    return discoverInstaller({
      explicit: this.options.uv,
      path: this.options.env['PATH'] ?? '',
      home: this.options.home,
      python: this.options.base.executable,
      run: this.runner(null),
      install,
    });
  }

  progress(recipe: string, hash: string | null): (phase: EnvPhase, message: string) => void {
    return (phase, text) => {
      const message = redact(text); // a requirement may carry a URL with a token
      this.log.debug({ recipe, hash, phase }, message);
      this.options.emit({ event: 'env.progress', recipe, hash, phase, message });
    };
  }

  /** The subprocess helper as env work uses it: the envs dir as cwd, the timeout, the abort, an event per command. */
  runner(recipe: string | null): Run {
    return async (command, args, extra = {}) => {
      await mkdir(this.store.root, { recursive: true });
      const result = await runCommand(command, args, {
        cwd: this.store.root,
        env: { ...this.options.env, ...extra.env },
        timeoutMs: this.options.timeoutMs,
        signal: this.#abort.signal,
        logger: this.log,
        onLine: extra.onLine,
      });
      this.options.emit({
        event: 'env.command',
        recipe,
        command: command.slice(command.lastIndexOf('/') + 1),
        args: args.map(redact),
        exitCode: result.exitCode,
        ms: Math.round(result.durationMs),
      });
      if (result.aborted) {
        throw new PodkeeperError('SHUTTING_DOWN', 'podkeeper is shutting down; the env build was abandoned.');
      }
      return result;
    };
  }
}
