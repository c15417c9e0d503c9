/**
 * How the manager builds one pod of a recipe: the runner command, the pod's environment variables
 * (the daemon env's base set and the recipe's `passEnv`, the manager's `env`, the recipe's `env`,
 * then what the runner needs), its options in milliseconds, and the wiring of its events to the
 * manager's (the pod redacts its log lines as it records them).
 */
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PreparedEnv } from '../env/envs.js';
import { inheritedEnvironment } from '../env/pod-environment.js';
import { PODS_DIR } from '../paths.js';
import { Pod } from '../pod/pod.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { ManagerEvent } from './events.js';
import type { ResolvedOptions } from './options.js';
import type { LaunchOutcome, Zygotes } from './zygotes.js';

/**
 * How a pod starts: the guardian (pods/podkeeper_pod/guardian.py), which forks the runner and
 * outlives it to leave no descendant behind. Not `-m podkeeper_pod`: `-m` loads runpy, whose imports
 * cost ~4 ms, as much as half of a bare interpreter's start in a venv (measured: ready 13.5 ms with
 * `-m`, 10.7 ms with `-c`, against 8.1 ms for `python -c 'print(1)'`).
 */
export const RUNNER_BOOTSTRAP = 'from podkeeper_pod.guardian import run; run()';

export function createPod(
  id: string,
  loaded: LoadedRecipe,
  env: PreparedEnv,
  options: ResolvedOptions,
  emit: (event: ManagerEvent) => void,
  zygotes?: Zygotes,
): Pod {
  const { recipe, dir } = loaded;
  const normal = ['-u', '-c', RUNNER_BOOTSTRAP, dir];
  const launch = zygotes?.launch(id, loaded, env, normal) ?? { args: normal };
  const pod = new Pod({
    id,
    recipe: recipe.name,
    capability: recipe.capability,
    executable: env.executable,
    // Forked from the recipe's zygote when it has one ready (zygotes.ts), else a normal start.
    args: launch.args,
    ...(launch.process ? { process: launch.process } : {}),
    cwd: dir,
    env: podEnvironment(id, loaded, env, options),
    concurrency: recipe.concurrency,
    pipelining: options.pipelining,
    maxQueue: options.maxQueue,
    readyTimeoutMs: (recipe.readyTimeout ?? options.readyTimeout) * 1000,
    stopGraceMs: options.stopGrace * 1000,
    cancelGraceMs: options.cancelGrace * 1000,
    maxLineLength: options.maxLineLength,
    logger: options.logger,
  });
  if (launch.onOutcome) tellOutcome(pod, launch.onOutcome);
  const spawnedAt = performance.now();
  const name = recipe.name;
  emit({ event: 'pod.spawned', podId: id, recipe: name, pid: pod.pid });
  pod.events.on('state', ({ from, to }) => emit({ event: 'pod.state', podId: id, recipe: name, from, to }));
  pod.events.on('ready', ({ spawnToReadyMs, ready }) =>
    emit({
      event: 'pod.ready',
      podId: id,
      recipe: name,
      spawnToReadyMs: Math.round(spawnToReadyMs ?? performance.now() - spawnedAt),
      memoryMB: ready.memoryMB,
    }),
  );
  pod.events.on('log', (line) => emit({ event: 'pod.log', ...line, recipe: name }));
  return pod;
}

/** Tells `onOutcome` once: ready, or gone before (of a signal before its first log line: `diedEarly`). */
function tellOutcome(pod: Pod, onOutcome: (outcome: LaunchOutcome) => void): void {
  let logged = false;
  let told = false;
  const tell = (outcome: LaunchOutcome) => {
    if (told) return;
    told = true;
    onOutcome(outcome);
  };
  pod.events.on('log', () => {
    logged = true;
  });
  pod.events.on('ready', () => tell({ ready: true, diedEarly: false }));
  pod.events.on('exit', ({ reason, facts }) =>
    tell({ ready: false, diedEarly: reason === 'crashed' && facts.signal !== null && !logged }),
  );
}

/** The environment of a pod (or a zygote) of a recipe. */
export function podEnvironment(
  id: string,
  { recipe, modelPath }: LoadedRecipe,
  env: PreparedEnv,
  options: ResolvedOptions,
): Record<string, string | undefined> {
  return {
    // Not the daemon's whole environment: the base set and what the recipe asks for (secrets stay out).
    ...inheritedEnvironment(process.env, recipe.passEnv),
    ...options.env,
    ...recipe.env,
    // The runner's package first, then what the recipe, the manager's `env` and the daemon's own
    // environment put there (in that order): merged, so a recipe's own modules stay importable.
    PYTHONPATH: mergedPath([
      PODS_DIR,
      recipe.env['PYTHONPATH'],
      options.env['PYTHONPATH'],
      process.env['PYTHONPATH'],
    ]),
    PODKEEPER_POD_ID: id,
    PODKEEPER_CACHE_DIR: join(options.home, 'cache', recipe.name),
    // The model an install prefetched: the pod's ctx.model.
    ...(modelPath ? { PODKEEPER_MODEL_PATH: modelPath } : {}),
    // What a pod needs to install into its own env (python-exec's per-request dependencies).
    PODKEEPER_HOME: options.home,
    PODKEEPER_ENV_KIND: env.kind,
    ...(options.uv ? { PODKEEPER_UV: options.uv } : {}),
    ...(options.wheelhouse ? { PODKEEPER_WHEELHOUSE: options.wheelhouse } : {}),
    ...(env.dir
      ? {
          VIRTUAL_ENV: env.dir,
          PATH: [join(env.dir, 'bin'), options.env['PATH'] ?? process.env['PATH']]
            .filter(Boolean)
            .join(delimiter),
        }
      : {}),
  };
}

/** `PATH`-like lists joined in order, each entry once. */
function mergedPath(lists: (string | undefined)[]): string {
  const entries = lists.flatMap((list) => (list ? list.split(delimiter) : [])).filter(Boolean);
  return [...new Set(entries)].join(delimiter);
}
