/**
 * The zygotes (pods/podkeeper_pod/zygote.py): for each recipe that declares `preload`, one process that
 * imported it once and forks that recipe's pods. This is the one place that decides how a pod starts:
 *
 *   launch(recipe) ─ the daemon holds its zygote's spare pod ─▶ that pod, taken (forked-spare.ts):
 *                  │                                          no process of the daemon's own
 *                  └ no zygote yet, starting, no spare yet, refusing (a thread runs in it: the pod's
 *                    log says so) or broken ─▶ the guardian <dir> (a normal start), and a zygote is
 *                    started in the background for the next pod
 *
 * The zygote's stdout says, line by line, when it has forked a spare pod (the daemon then connects
 * to it and holds it until a pod takes it), or why it has none. The forked pod behaves as a normal
 * one either way (protocol, logs, exit facts,
 * tree kill). A zygote
 * is stopped after the manager's `idleTimeout` without a fork, when the manager closes, or when the
 * memory budget needs its room (it counts by its resident memory); a dead one is started again on
 * next use, after a pause when it failed.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PreparedEnv } from '../env/envs.js';
import { ForkedSpare } from '../launch/forked-spare.js';
import type { Prepared } from '../launch/types.js';
import { pythonBootstrap } from '../paths.js';
import { spawnPodProcess } from '../pod/spawn.js';
import { terminateGroup } from '../pod/terminate.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import { createZygoteDir } from './zygote-dir.js';
import { readZygoteLines, type ZygoteLine } from './zygote-lines.js';
import { keyOf, type Launch, type PodSpec, type Zygote, type ZygoteDeps } from './zygote-types.js';

export type { Launch, LaunchOutcome, PodSpec, ZygoteDeps } from './zygote-types.js';

const ZYGOTE_BOOTSTRAP = pythonBootstrap('from podkeeper_pod.zygote import run; run()');
/** How long a zygote that failed to start, or was stopped for room, is not started again. */
const PAUSE_MS = 30_000;
const STOP_GRACE_MS = 2000;
/** Forked pods in a row dying early (see {@link Zygotes.launch}) before a normal start tests the zygote. */
const MAX_STRIKES = 3;
/** Longest a pod waits for its zygote's next spare pod before it starts normally. */
const SPARE_WAIT_MS = 250;

export class Zygotes {
  readonly #deps: ZygoteDeps;
  readonly #zygotes = new Map<string, Zygote>();
  /** When a zygote failed to start or was stopped for room: not started again for a while. */
  readonly #pausedAt = new Map<string, number>();
  /** Zygotes whose forked pods kept dying while a normal start worked: never started again by this manager. */
  readonly #retired = new Set<string>();
  #dir: string | undefined;
  #closed = false;

  constructor(deps: ZygoteDeps) {
    this.#deps = deps;
  }

  /**
   * How the next pod of `loaded` starts (see the module doc): the zygote's spare pod, taken, or the
   * arguments of a normal start (with why it is not forked, for the pod's log); when it is forked,
   * what to call with its outcome. A forked pod that dies of a signal before its first log
   * line is a strike (on macOS, a preload that initialised Objective-C classes makes every forked
   * child abort); a setup() that fails, a stop during start or a normal start after a refusal is
   * not. After MAX_STRIKES in a row the next pod starts normally: if it gets ready, the zygote is
   * retired (its recipe's pods start normally from then on); if not, the recipe is to blame, and
   * the strikes start again from zero.
   */
  launch(loaded: LoadedRecipe, env: PreparedEnv, pod: PodSpec, normal: string[]): Launch {
    const zygote = this.#ensure(loaded, env);
    if (!zygote?.ready) return { args: normal };
    if (zygote.strikes >= MAX_STRIKES) return this.#probe(zygote, normal);
    this.#touch(zygote);
    const spare = zygote.spare;
    if (!spare?.ready) {
      const why = zygote.refusal ?? spare?.why ?? 'ZYGOTE_BUSY: its next spare pod is not ready yet';
      return { args: normal, note: `${why}; starting the pod without it` };
    }
    zygote.spare = undefined; // the zygote forks the next one once this one is taken
    return {
      process: spare.take(pod.env, pod.cwd),
      onOutcome: ({ ready, diedEarly }) => {
        if (ready) zygote.strikes = 0;
        else if (diedEarly) zygote.strikes += 1;
      },
    };
  }

  /**
   * Resolves once the zygote of `prepared`'s recipe holds a ready spare pod, or none is on its way,
   * or after `ms`: a pod started right after another (a restart after a crash, a second replica)
   * waits the few ms the next spare takes to fork, instead of a normal start of hundreds of ms.
   */
  spareSoon({ loaded, env }: Prepared, ms = SPARE_WAIT_MS): Promise<void> {
    const zygote = env && this.#zygotes.get(keyOf(loaded, env));
    const coming = zygote?.ready && zygote.refusal === undefined && zygote.strikes < MAX_STRIKES;
    if (!coming || zygote.spare?.ready) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        zygote.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      zygote.wake.add(done);
    });
  }

  /** One normal start, while no other is under way, that decides whether the zygote is to blame. */
  #probe(zygote: Zygote, normal: string[]): Launch {
    if (zygote.probing) return { args: normal };
    zygote.probing = true;
    return {
      args: normal,
      onOutcome: ({ ready }) => {
        zygote.probing = false;
        if (!ready) {
          zygote.strikes = 0; // a normal start fails too: the recipe, not the fork
          return;
        }
        this.#retired.add(zygote.key);
        this.#deps.logger.warn(
          { recipe: zygote.recipe, strikes: zygote.strikes },
          'zygote retired: the pods forked from it die before ready, and a normally started one works; see the README (preload)',
        );
        void this.#stop(zygote);
      },
    };
  }

  /**
   * Starts the zygote of `loaded` unless it runs; resolves with its pid once it listens, or undefined
   * (no `preload`, zygotes off, or it failed: see the daemon log).
   */
  async start(loaded: LoadedRecipe, env: PreparedEnv): Promise<number | undefined> {
    return this.#ensure(loaded, env)?.started;
  }

  #ensure(loaded: LoadedRecipe, env: PreparedEnv): Zygote | undefined {
    if (this.#closed || loaded.recipe.preload.length === 0) return undefined;
    const key = keyOf(loaded, env);
    if (this.#retired.has(key)) return undefined;
    return this.#zygotes.get(key) ?? this.#start(key, loaded, env);
  }

  /**
   * The zygotes (and their spares) running now: what the memory budget counts and may stop. One
   * stopped for room is not started again for a while: its next pod would start it at once, outside
   * the budget, next to a normally started pod.
   */
  running(): { id: string; pid: number; recipe: string; sharesPages: boolean; stop: () => Promise<void> }[] {
    return [...this.#zygotes.values()].flatMap((zygote) => {
      const { recipe } = zygote;
      const stop = () => {
        this.#pausedAt.set(zygote.key, performance.now());
        return this.#stop(zygote);
      };
      const { pid } = zygote.process;
      const spare = zygote.spare?.pid;
      return [
        ...(pid === undefined ? [] : [{ id: `zygote:${recipe}`, pid, recipe, sharesPages: true, stop }]),
        ...(spare === undefined
          ? []
          : [{ id: `zygote-spare:${recipe}`, pid: spare, recipe, sharesPages: false, stop }]),
      ];
    });
  }

  /** Stops the zygotes of the recipes (name, folder) that `stale` picks; their pods live on. */
  async stopWhere(stale: (recipe: string, dir: string) => boolean): Promise<void> {
    const picked = [...this.#zygotes.values()].filter((zygote) => stale(zygote.recipe, zygote.dir));
    await Promise.all(picked.map((zygote) => this.#stop(zygote)));
  }

  /** Stops every zygote (their pods live on) and removes their sockets. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#zygotes.values()].map((zygote) => this.#stop(zygote)));
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }

  #start(key: string, loaded: LoadedRecipe, env: PreparedEnv): Zygote | undefined {
    const pausedAt = this.#pausedAt.get(key);
    if (pausedAt !== undefined && performance.now() - pausedAt < PAUSE_MS) return undefined;
    const recipe = loaded.recipe.name;
    this.#dir ??= createZygoteDir();
    const socket = join(this.#dir, `${this.#zygotes.size}-${Date.now().toString(36)}.sock`);
    const child = spawnPodProcess({
      executable: env.executable,
      args: ['-u', '-c', ZYGOTE_BOOTSTRAP, loaded.dir, socket],
      cwd: loaded.dir,
      env: this.#deps.environment(`${recipe}-zygote`, loaded, env),
    });
    let settle: (pid: number | undefined) => void = () => undefined;
    const started = new Promise<number | undefined>((resolve) => {
      settle = resolve;
    });
    const zygote: Zygote = {
      key,
      recipe,
      dir: loaded.dir,
      socket,
      process: child,
      spare: undefined,
      refusal: undefined,
      ready: false,
      started,
      strikes: 0,
      probing: false,
      wake: new Set(),
    };
    child.stdin.on('error', () => undefined); // EPIPE once it has exited: its exit says what happened
    this.#zygotes.set(key, zygote);
    const log = this.#deps.logger.child({ component: 'zygote', recipe, pid: child.pid });
    const stderr: string[] = [];
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      for (const line of text.split('\n')) if (line) stderr.push(line);
      stderr.splice(0, Math.max(0, stderr.length - 20));
    });
    const onLine = (line: ZygoteLine | undefined, text: string) => {
      const expected = zygote.ready ? line?.type !== 'zygote' : line?.type === 'zygote'; // ready first, once
      if (line === undefined || !expected) {
        log.warn({ line: text.slice(0, 200) }, 'zygote: unexpected line; stopping it');
        void this.#stop(zygote);
      } else if (line.type === 'zygote') {
        zygote.ready = true;
        this.#touch(zygote);
        log.info({ preloadMs: line.preloadMs }, 'zygote ready');
      } else if (line.type === 'refusing') {
        zygote.refusal = `${line.code}: ${line.reason}`;
        log.warn({ code: line.code, reason: line.reason }, 'zygote: no spare pod');
        for (const wake of zygote.wake) wake();
        settle(child.pid);
      } else {
        zygote.refusal = undefined;
        zygote.spare?.discard(); // one that went (a new spare is forked only then), or never came
        zygote.spare = new ForkedSpare(socket, (spare) => {
          if (spare.why !== undefined && zygote.spare === spare) zygote.spare = undefined;
          if (spare.why !== undefined) log.warn({ why: spare.why }, 'zygote: its spare pod went');
          for (const wake of zygote.wake) wake();
          settle(child.pid);
        });
      }
    };
    readZygoteLines(child.stdout, onLine);
    void child.exited.then((exit) => {
      settle(undefined);
      for (const wake of zygote.wake) wake();
      zygote.spare?.discard();
      zygote.spare = undefined;
      clearTimeout(zygote.idleTimer);
      if (this.#zygotes.get(key) === zygote) this.#zygotes.delete(key);
      const facts = { exitCode: exit.exitCode, signal: exit.signal, stderr: stderr.slice(-10) };
      // One that never got ready (a preload that fails) is not tried again for a while; one that
      // died later (killed, say) is started again by the next pod, which starts normally meanwhile.
      if (!zygote.ready) this.#pausedAt.set(key, performance.now());
      zygote.ready = false;
      log.info(facts, 'zygote exited; pods start without it until it is started again');
    });
    return zygote;
  }

  #touch(zygote: Zygote): void {
    clearTimeout(zygote.idleTimer);
    if (this.#deps.idleTimeout <= 0) return;
    zygote.idleTimer = setTimeout(() => void this.#stop(zygote), this.#deps.idleTimeout * 1000);
    zygote.idleTimer.unref();
  }

  async #stop(zygote: Zygote): Promise<void> {
    if (this.#zygotes.get(zygote.key) === zygote) this.#zygotes.delete(zygote.key);
    for (const wake of zygote.wake) wake();
    clearTimeout(zygote.idleTimer);
    zygote.spare?.discard();
    zygote.spare = undefined;
    const { pid, exited, stdin } = zygote.process;
    // End of input: it exits, and so does its spare pod (not the pods it forked).
    if (pid !== undefined) await terminateGroup(zygote.process, exited, STOP_GRACE_MS, () => stdin.end());
  }
}
