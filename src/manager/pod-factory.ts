/**
 * How the manager builds one pod of a recipe: its process from the recipe's launcher, the pod's
 * environment variables (the daemon env's base set and the recipe's `passEnv`, the manager's `env`,
 * the recipe's `env`, then what the runner needs), its options in milliseconds, and the wiring of
 * its events to the manager's (the pod redacts its log lines as it records them).
 */
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PreparedEnv } from '../env/envs.js';
import { inheritedEnvironment } from '../env/pod-environment.js';
import { RUNNER_BOOTSTRAP } from '../launch/local.js';
import type { Launcher, Prepared } from '../launch/types.js';
import { PODS_DIR } from '../paths.js';
import { Pod } from '../pod/pod.js';
import { type PodProcess, spawnPodProcess } from '../pod/spawn.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import type { ManagerEvent } from './events.js';
import type { ResolvedOptions } from './options.js';
import { shownPid } from './pod-info.js';
import type { LaunchOutcome, Zygotes } from './zygotes.js';

/** Where the runner's start command lives now (the local launcher); kept for existing imports. */
export { RUNNER_BOOTSTRAP };

export function createPod(
  id: string,
  launcher: Launcher,
  prepared: Prepared,
  options: ResolvedOptions,
  emit: (event: ManagerEvent) => void,
  zygotes?: Zygotes,
): Pod {
  const { loaded } = prepared;
  const { recipe, dir } = loaded;
  const local = launcher.locality === 'local' ? prepared.env : undefined;
  const env = local ? podEnvironment(id, loaded, local, options) : remotePodEnvironment(id, loaded, options);
  // A local pod may be forked from the recipe's zygote when it has one ready (zygotes.ts); every
  // other start is its launcher's.
  const normal = ['-u', '-c', RUNNER_BOOTSTRAP, dir];
  const launch =
    local && launcher.name === 'local'
      ? zygotes?.launch(loaded, local, { env, cwd: dir }, normal)
      : undefined;
  let process: PodProcess;
  if (launch === undefined) process = launcher.start(prepared, { podId: id, env });
  else if ('process' in launch) process = launch.process;
  else
    process = spawnPodProcess({
      executable: local?.executable ?? 'python3',
      args: launch.args,
      cwd: dir,
      env,
    });
  const pod = new Pod({
    id,
    recipe: recipe.name,
    capability: recipe.capability,
    process,
    concurrency: recipe.concurrency,
    pipelining: options.pipelining,
    maxQueue: options.maxQueue,
    readyTimeoutMs: (recipe.readyTimeout ?? options.readyTimeout) * 1000,
    stopGraceMs: options.stopGrace * 1000,
    cancelGraceMs: options.cancelGrace * 1000,
    maxLineLength: options.maxLineLength,
    logger: options.logger,
  });
  if (launch?.onOutcome) tellOutcome(pod, launch.onOutcome);
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
      pid: shownPid(pod),
    }),
  );
  pod.events.on('log', (line) => emit({ event: 'pod.log', ...line, recipe: name }));
  if (launch && 'note' in launch && launch.note) pod.note('warning', launch.note);
  return pod;
}

/**
 * A pod that runs elsewhere gets what its recipe asks for (`passEnv`, `env`) and the manager's `env`,
 * not this machine's paths (PATH, HOME, the env's folder): the node has its own.
 */
function remotePodEnvironment(
  id: string,
  { recipe }: LoadedRecipe,
  options: ResolvedOptions,
): Record<string, string | undefined> {
  const asked = Object.fromEntries(
    recipe.passEnv.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]),
  );
  return { ...asked, ...options.env, ...recipe.env, PODKEEPER_POD_ID: id };
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
