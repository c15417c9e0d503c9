/**
 * Python environments for pods (DESIGN §4). `prepare(recipe)` answers the interpreter a recipe's pod
 * runs on, building what is missing first:
 *
 *   recipe ─▶ no dependencies ───────────────────────────▶ base interpreter (fast path, no I/O)
 *          ├▶ venv mode ─ hash ─ check fingerprint ─ ok ─▶ envs/<hash>/bin/python
 *          │                                      └ bad ─▶ lock ─ recheck ─ build in .tmp ─ fingerprint ─ rename
 *          └▶ system mode ─ known satisfied? ─ no ─ probe ─ install missing ─▶ system interpreter
 *
 * Concurrent prepares of one env share one promise (in this process) and one lock (across processes).
 * A failed build is remembered for `retryAfterMs`, so a crash loop does not rebuild in a tight loop;
 * a recipe change gives a new hash and builds at once.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { isPodkeeperError, PodkeeperError } from '../errors.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { Recipe } from '../recipes/schema.js';
import { runCommand } from './command.js';
import type { EnvEvent } from './events.js';
import { checkEnv, ENV_PYTHON, type Fingerprint, verifyRecords, writeFingerprint } from './fingerprint.js';
import { discoverInstaller, type Installer, type Run } from './installer.js';
import { type EnvKey, envKey, hashKey, needsOtherPython } from './key.js';
import { acquireLock, tryLock } from './lock.js';
import { type EnvMode, mayInstallSystemPackages, type ResolvedEnvMode, resolveEnvMode } from './mode.js';
import type { EnvPhase } from './progress.js';
import type { PythonInterpreter } from './python.js';
import { satisfiesPythonSpec } from './python-spec.js';
import { checkedRequirements, normalizeRequirements } from './requirements.js';
import { EnvStore, envsInUseByProcesses } from './store.js';
import { ensureSystemRequirements } from './system.js';
import { ensureSystemPackages } from './system-packages.js';
import { buildVenv } from './venv.js';

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
  kind: 'base' | 'venv' | 'system';
  /** The interpreter the pod runs. */
  executable: string;
  /** venv mode: the env's hash and folder. */
  hash?: string;
  dir?: string;
}

export interface EnvInfo {
  hash: string;
  dir: string;
  /** The known recipes that run in it (none: gc removes it). */
  recipes: string[];
  ok: boolean;
  /** Why it is not usable (it will be rebuilt on next use). */
  problem?: string;
  python?: string;
  dependencies?: string[];
  builtAt?: string;
  installer?: string;
}

export interface EnvironmentStatus {
  mode: ResolvedEnvMode;
  requestedMode: EnvMode;
  container: boolean;
  base: PythonInterpreter;
  /** What builds envs: uv (and where it came from), the pip fallback, or why there is none. */
  installer: Installer | { kind: 'unavailable'; reason: string };
  wheelhouse: string | null;
  envsDir: string;
  envs: EnvInfo[];
  building: string[];
}

export interface GcResult {
  removed: string[];
  kept: { hash: string; reason: 'referenced' | 'in use' | 'building' }[];
}

export class Environments {
  readonly mode: ResolvedEnvMode;
  readonly store: EnvStore;
  readonly #options: EnvironmentsOptions;
  readonly #log: Logger;
  readonly #base: PreparedEnv;
  readonly #abort = new AbortController();
  readonly #pending = new Map<string, Promise<PreparedEnv>>();
  /** venv hashes being checked or built by this process, with how many preparations use each. */
  readonly #busy = new Map<string, number>();
  readonly #failures = new Map<string, { error: PodkeeperError; until: number }>();
  /** venv hashes whose every RECORD file was checked by this process. */
  readonly #verified = new Set<string>();
  /** System-mode keys known satisfied; cleared by any system install. */
  readonly #satisfied = new Set<string>();
  /** Recipes whose system packages were found present. */
  readonly #systemPackagesOk = new Set<string>();
  readonly #keys = new WeakMap<Recipe, { key: EnvKey; hash: string }>();
  #installer: Promise<Installer> | undefined;

  constructor(options: EnvironmentsOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'env' });
    this.mode = resolveEnvMode(options.mode, options.container);
    this.store = new EnvStore(join(options.home, 'envs'));
    this.#base = { kind: 'base', executable: options.base.executable };
  }

  /** The interpreter for a recipe's next pod, with its env built or checked first. */
  prepare(loaded: LoadedRecipe): Promise<PreparedEnv> {
    const { recipe } = loaded;
    if (this.#abort.signal.aborted) {
      return Promise.reject(
        new PodkeeperError('SHUTTING_DOWN', 'podkeeper is shutting down; no env builds.'),
      );
    }
    if (!needsEnv(recipe, this.#options.base)) return Promise.resolve(this.#base);
    const id = this.#idOf(recipe);
    const failed = this.#failures.get(id);
    if (failed && failed.until > performance.now()) return Promise.reject(failed.error);
    let pending = this.#pending.get(id);
    if (!pending) {
      pending = this.#prepare(loaded, id).finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return pending;
  }

  /** Forgets a remembered failure of this recipe's env (an explicit start retries at once). */
  forget(loaded: LoadedRecipe): void {
    if (needsEnv(loaded.recipe, this.#options.base)) this.#failures.delete(this.#idOf(loaded.recipe));
  }

  /** The venv hash of a recipe's dependency set (whatever the mode). */
  hashOf(recipe: Recipe): string {
    let cached = this.#keys.get(recipe);
    if (!cached) {
      const key = envKey(recipe, this.#options.base);
      cached = { key, hash: hashKey(key) };
      this.#keys.set(recipe, cached);
    }
    return cached.hash;
  }

  /**
   * Mode, installer, and every env on disk with its state and the recipes (of `recipes`) using it.
   * Finds the installer without installing one.
   */
  async status(recipes: readonly LoadedRecipe[] = []): Promise<EnvironmentStatus> {
    const installer: EnvironmentStatus['installer'] = await (this.#installer ?? this.#discover(false)).catch(
      (error: unknown) => ({ kind: 'unavailable' as const, reason: (error as Error).message }),
    );
    // A uv found without installing anything is what builds will use: keep it.
    if (installer.kind === 'uv') this.#installer ??= Promise.resolve(installer);
    const users = new Map<string, string[]>();
    for (const { recipe } of recipes) {
      if (!needsVenv(recipe, this.#options.base)) continue;
      const hash = this.hashOf(recipe);
      users.set(hash, [...(users.get(hash) ?? []), recipe.name]);
    }
    const envs = await Promise.all(
      (await this.store.hashes()).map(async (hash): Promise<EnvInfo> => {
        const dir = this.store.dir(hash);
        const verdict = await checkEnv(dir, hash);
        const names = users.get(hash) ?? [];
        if (!verdict.ok) return { hash, dir, recipes: names, ok: false, problem: verdict.reason };
        const { fingerprint } = verdict;
        return {
          hash,
          dir,
          recipes: names,
          ok: true,
          python: fingerprint.python.version,
          dependencies: fingerprint.key.dependencies,
          builtAt: fingerprint.builtAt,
          installer: fingerprint.installer,
        };
      }),
    );
    return {
      mode: this.mode,
      requestedMode: this.#options.mode,
      container: this.#options.container,
      base: this.#options.base,
      installer,
      wheelhouse: this.#options.wheelhouse ?? null,
      envsDir: this.store.root,
      envs,
      building: [...this.#busy.keys()],
    };
  }

  /**
   * Removes every env no recipe of `recipes` needs, unless a pod runs from it (`inUse`, or any
   * process on this machine, found in /proc) or it is being built (here, or by another process
   * holding its lock). Leftovers of killed builds go too.
   */
  async gc(recipes: readonly LoadedRecipe[], inUse: Iterable<string>): Promise<GcResult> {
    const referenced = new Set(
      recipes
        .filter(({ recipe }) => needsVenv(recipe, this.#options.base))
        .map(({ recipe }) => this.hashOf(recipe)),
    );
    const live = await envsInUseByProcesses(this.store.root);
    for (const hash of inUse) live.add(hash);
    const result: GcResult = { removed: [], kept: [] };
    for (const hash of await this.store.hashes()) {
      if (referenced.has(hash)) result.kept.push({ hash, reason: 'referenced' });
      else if (live.has(hash)) result.kept.push({ hash, reason: 'in use' });
      else if (
        this.#busy.has(hash) ||
        !(await this.#underLock(hash, () => this.store.discard(this.store.dir(hash), hash)))
      ) {
        result.kept.push({ hash, reason: 'building' });
      } else {
        result.removed.push(hash);
        this.#verified.delete(hash);
        this.#options.emit({ event: 'env.removed', recipe: null, hash, reason: 'gc' });
        this.#log.info({ hash }, 'removed an unreferenced env');
      }
    }
    for (const leftover of await this.store.leftovers()) {
      if (this.#busy.has(leftover.hash)) continue;
      await this.#underLock(leftover.hash, () =>
        rm(leftover.path, { recursive: true, force: true, maxRetries: 3 }),
      );
    }
    return result;
  }

  /** Stops running builds (their commands are killed) and waits until they have cleaned up. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#pending.values()]);
  }

  // ---------------------------------------------------------------- internals

  async #prepare(loaded: LoadedRecipe, id: string): Promise<PreparedEnv> {
    const { recipe } = loaded;
    const hash = this.mode === 'venv' ? this.hashOf(recipe) : null;
    try {
      await this.#systemPackages(loaded, hash);
      if (this.mode === 'system') return await this.#system(loaded, this.#systemKey(recipe));
      return hash !== null && needsVenv(recipe, this.#options.base)
        ? await this.#venv(loaded, hash)
        : this.#base;
    } catch (error) {
      const failure = isPodkeeperError(error)
        ? error
        : new PodkeeperError(
            'ENV_BUILD_FAILED',
            `The environment of recipe "${recipe.name}": ${String(error)}`,
            {
              cause: error,
              details: { recipe: recipe.name, ...(hash ? { hash } : {}) },
            },
          );
      if (failure.code !== 'SHUTTING_DOWN') {
        this.#failures.set(id, {
          error: failure,
          until: performance.now() + (this.#options.retryAfterMs ?? 30_000),
        });
        const requirement = failure.details['requirement'];
        this.#options.emit({
          event: 'env.failed',
          recipe: recipe.name,
          hash,
          message: failure.message,
          requirement: typeof requirement === 'string' ? requirement : null,
        });
        this.#log.warn({ recipe: recipe.name, hash }, failure.message);
      }
      throw failure;
    }
  }

  async #venv(loaded: LoadedRecipe, hash: string): Promise<PreparedEnv> {
    this.#busy.set(hash, (this.#busy.get(hash) ?? 0) + 1);
    try {
      return await this.#checkOrBuild(loaded, hash);
    } finally {
      const left = (this.#busy.get(hash) ?? 1) - 1;
      if (left > 0) this.#busy.set(hash, left);
      else this.#busy.delete(hash);
    }
  }

  async #checkOrBuild(loaded: LoadedRecipe, hash: string): Promise<PreparedEnv> {
    const dir = this.store.dir(hash);
    const verdict = await checkEnv(dir, hash);
    if (verdict.ok && (await this.#deepCheck(dir, hash, verdict.fingerprint))) return venvOf(dir, hash);
    const progress = this.#progress(loaded.recipe.name, hash);
    const lock = await acquireLock(this.store.lock(hash), {
      timeoutMs: this.#options.timeoutMs * 2,
      staleMs: this.#options.lockStaleMs,
      signal: this.#abort.signal,
      onWaiting: () => progress('waiting', 'another podkeeper process is building this env; waiting for it'),
      done: async () => (await checkEnv(dir, hash)).ok,
    });
    if (!lock) {
      this.#verified.add(hash);
      return venvOf(dir, hash);
    }
    try {
      return await this.#build(loaded, hash, dir, lock);
    } finally {
      await lock.release();
    }
  }

  /** Under the env's lock. */
  async #build(
    loaded: LoadedRecipe,
    hash: string,
    dir: string,
    lock: { compromised: Error | undefined },
  ): Promise<PreparedEnv> {
    const { recipe } = loaded;
    const progress = this.#progress(recipe.name, hash);
    const recheck = await checkEnv(dir, hash);
    if (recheck.ok && (await this.#deepCheck(dir, hash, recheck.fingerprint))) return venvOf(dir, hash);
    if (await exists(dir)) {
      const reason = recheck.ok ? 'an installed file is missing' : recheck.reason;
      progress('checking', `env ${hash} is unusable (${reason}); rebuilding it`);
      this.#log.warn({ hash, reason }, 'discarding a broken env');
      await this.store.discard(dir, hash);
      this.#options.emit({ event: 'env.removed', recipe: recipe.name, hash, reason: 'broken' });
    }
    for (const leftover of await this.store.leftovers(hash)) {
      await rm(leftover.path, { recursive: true, force: true, maxRetries: 3 });
    }
    const installer = await this.#installerFor();
    const { key } = this.#keys.get(recipe) ?? { key: envKey(recipe, this.#options.base) };
    // venvs made by `python -m venv` hold absolute paths: the pip fallback builds in place (the
    // fingerprint, written last, still marks the env complete). uv's are relocatable.
    const inPlace = installer.kind === 'pip';
    const work = inPlace ? dir : this.store.temp(hash);
    const started = performance.now();
    try {
      await mkdir(this.store.root, { recursive: true });
      await buildVenv(work, {
        recipe: recipe.name,
        hash,
        installer,
        run: this.#runner(recipe.name),
        base: this.#options.base,
        pythonRequest: key.pythonRequest,
        requirements: checkedRequirements(recipe.name, recipe.dependencies),
        wheelhouse: this.#options.wheelhouse,
        pythonDownloads: this.#options.pythonDownloads,
        progress: ({ phase, message }) => progress(phase, message),
      });
      const buildMs = Math.round(performance.now() - started);
      const label = installer.kind === 'uv' ? `uv ${installer.version}` : 'pip';
      await writeFingerprint(work, { hash, key, installer: label, buildMs });
      if (lock.compromised) throw new Error(`lost the build lock (${lock.compromised.message})`);
      if (!inPlace) await rename(work, dir);
    } catch (error) {
      await rm(work, { recursive: true, force: true, maxRetries: 3 });
      if (this.#abort.signal.aborted) {
        throw new PodkeeperError('SHUTTING_DOWN', 'podkeeper is shutting down; the env build was abandoned.');
      }
      throw error;
    }
    this.#verified.add(hash);
    const ms = Math.round(performance.now() - started);
    this.#options.emit({ event: 'env.built', recipe: recipe.name, hash, mode: 'venv', ms });
    this.#log.info({ recipe: recipe.name, hash, ms }, 'env built');
    return venvOf(dir, hash);
  }

  /** Every RECORD-listed file, once per env per process; a missing one marks the env broken. */
  async #deepCheck(dir: string, hash: string, fingerprint: Fingerprint): Promise<boolean> {
    if (this.#verified.has(hash)) return true;
    const missing = await verifyRecords(dir, fingerprint);
    if (missing !== undefined) {
      this.#log.warn({ hash, missing }, 'env is missing an installed file');
      return false;
    }
    this.#verified.add(hash);
    return true;
  }

  async #system(loaded: LoadedRecipe, key: string): Promise<PreparedEnv> {
    const { recipe } = loaded;
    const system: PreparedEnv = { kind: 'system', executable: this.#options.base.executable };
    if (
      recipe.python !== undefined &&
      satisfiesPythonSpec(this.#options.base.version, recipe.python) === false
    ) {
      throw new PodkeeperError(
        'ENV_BUILD_FAILED',
        `Recipe "${recipe.name}" needs Python ${recipe.python}; the system Python (${this.#options.base.executable}) ` +
          `is ${this.#options.base.version}. In system mode pods run on the system Python: use an image with a ` +
          'matching Python, or the venv mode (envMode "venv", PODKEEPER_ENV_MODE=venv).',
        { details: { recipe: recipe.name, python: recipe.python, systemPython: this.#options.base.version } },
      );
    }
    if (this.#satisfied.has(key) || recipe.dependencies.length === 0) return system;
    const python = this.#options.base.executable;
    const lock = await acquireLock(this.store.lock(`system-${digest(python)}`), {
      timeoutMs: this.#options.timeoutMs * 2,
      staleMs: this.#options.lockStaleMs,
      signal: this.#abort.signal,
      done: async () => false,
    });
    try {
      const started = performance.now();
      const installed = await ensureSystemRequirements({
        recipe: recipe.name,
        installer: await this.#installerFor(),
        run: this.#runner(recipe.name),
        python,
        requirements: checkedRequirements(recipe.name, recipe.dependencies),
        wheelhouse: this.#options.wheelhouse,
        progress: ({ phase, message }) => this.#progress(recipe.name, null)(phase, message),
      });
      if (installed) {
        // An install may have changed what other recipes rely on: check them again.
        this.#satisfied.clear();
        const ms = Math.round(performance.now() - started);
        this.#options.emit({ event: 'env.built', recipe: recipe.name, hash: null, mode: 'system', ms });
      }
      this.#satisfied.add(key);
      return system;
    } finally {
      await lock?.release();
    }
  }

  async #systemPackages(loaded: LoadedRecipe, hash: string | null): Promise<void> {
    const { recipe } = loaded;
    if (recipe.systemDependencies.length === 0 || this.#systemPackagesOk.has(recipe.name)) return;
    await ensureSystemPackages({
      recipe: recipe.name,
      packages: recipe.systemDependencies,
      run: this.#runner(recipe.name),
      path: this.#options.env['PATH'] ?? '',
      mayInstall: mayInstallSystemPackages(this.#options.container),
      progress: ({ phase, message }) => this.#progress(recipe.name, hash)(phase, message),
    });
    this.#systemPackagesOk.add(recipe.name);
  }

  /**
   * What one preparation is about, for sharing it between concurrent callers and remembering its
   * failure: the env (venv hash, or the system interpreter and requirements) plus the system packages.
   */
  #idOf(recipe: Recipe): string {
    const env = this.mode === 'venv' ? this.hashOf(recipe) : this.#systemKey(recipe);
    const packages = [...new Set(recipe.systemDependencies)].sort();
    return packages.length === 0 ? env : `${env}+${digest(packages.join('\n'))}`;
  }

  #systemKey(recipe: Recipe): string {
    const key = JSON.stringify([this.#options.base.executable, normalizeRequirements(recipe.dependencies)]);
    return `system-${digest(key)}`;
  }

  #installerFor(): Promise<Installer> {
    this.#installer ??= this.#discover(true).then((installer) => {
      const where =
        installer.kind === 'uv' ? `uv ${installer.version} (${installer.source}: ${installer.path})` : 'pip';
      if (installer.kind === 'pip')
        this.#log.warn(`building envs with python -m venv + pip: ${installer.reason}`);
      else this.#log.info(`building envs with ${where}`);
      return installer;
    });
    this.#installer.catch(() => {
      this.#installer = undefined;
    });
    return this.#installer;
  }

  #discover(install: boolean): Promise<Installer> {
    return discoverInstaller({
      explicit: this.#options.uv,
      path: this.#options.env['PATH'] ?? '',
      home: this.#options.home,
      python: this.#options.base.executable,
      run: this.#runner(null),
      install,
    });
  }

  async #underLock(hash: string, work: () => Promise<unknown>): Promise<boolean> {
    const lock = await tryLock(this.store.lock(hash), this.#options.lockStaleMs);
    if (!lock) return false;
    try {
      await work();
      return true;
    } finally {
      await lock.release();
    }
  }

  #progress(recipe: string, hash: string | null): (phase: EnvPhase, message: string) => void {
    return (phase, message) => {
      this.#log.debug({ recipe, hash, phase }, message);
      this.#options.emit({ event: 'env.progress', recipe, hash, phase, message });
    };
  }

  /** The subprocess helper as env work uses it: the envs dir as cwd, the timeout, the abort, an event per command. */
  #runner(recipe: string | null): Run {
    return async (command, args, extra = {}) => {
      await mkdir(this.store.root, { recursive: true });
      const result = await runCommand(command, args, {
        cwd: this.store.root,
        env: { ...this.#options.env, ...extra.env },
        timeoutMs: this.#options.timeoutMs,
        signal: this.#abort.signal,
        logger: this.#log,
        onLine: extra.onLine,
      });
      this.#options.emit({
        event: 'env.command',
        recipe,
        command: command.slice(command.lastIndexOf('/') + 1),
        args,
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

/** True when the recipe cannot run on the bare base interpreter. */
function needsEnv(recipe: Recipe, base: PythonInterpreter): boolean {
  return (
    recipe.dependencies.length > 0 ||
    recipe.systemDependencies.length > 0 ||
    needsOtherPython(recipe.python, base)
  );
}

/** True when the recipe gets a venv of its own in venv mode. */
function needsVenv(recipe: Recipe, base: PythonInterpreter): boolean {
  return recipe.dependencies.length > 0 || needsOtherPython(recipe.python, base);
}

function venvOf(dir: string, hash: string): PreparedEnv {
  return { kind: 'venv', executable: join(dir, ENV_PYTHON), hash, dir };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
