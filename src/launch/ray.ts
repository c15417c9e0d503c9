/**
 * The Ray launcher: a pod runs as an owned Ray actor on a node Ray picks, reached through a local
 * bridge process (pods/podkeeper_ray/bridge.py) that speaks the pod protocol on its stdio, exactly
 * like the runner. The daemon sees an ordinary pod: ready, requests, pipelining, progress and
 * chunks, cancel, timeouts, stop, crash facts and the restart policy are all the usual ones.
 *
 *   Pod ─stdio─▶ bridge (local, ~95 MB) ─Ray─▶ PodActor (node) ─stdio─▶ guardian ─▶ runner
 *
 * The bridge is given its launch (address, resources, deadlines, dependencies) and the pod's
 * environment in its own environment, which it drops at once; the pod environment reaches the node
 * as an argument of the actor's start call only.
 */
import { delimiter } from 'node:path';
import type { Logger } from 'pino';
import { PODS_DIR, pythonBootstrap } from '../paths.js';
import type { PodProcess } from '../pod/spawn.js';
import type { LoadedRecipe } from '../recipes/catalog.js';
import { spawnBridge } from './bridge-process.js';
import type { RayLauncherConfig } from './config.js';
import { rayToolPython } from './ray-tool-env.js';
import type { Launcher, PodStart, Prepared } from './types.js';

const BRIDGE_BOOTSTRAP = pythonBootstrap('from podkeeper_ray.bridge import main; main()');

/** Of the daemon's environment, what the bridge (a Ray driver) may need: never a secret. */
const BRIDGE_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'TMPDIR', 'TZ', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

export interface RayLauncherDeps {
  home: string;
  uv: string;
  python: string;
  logger?: Logger;
  environment?: NodeJS.ProcessEnv;
}

export class RayLauncher implements Launcher {
  readonly name: string;
  readonly locality = 'remote' as const;
  readonly #config: RayLauncherConfig;
  readonly #deps: RayLauncherDeps;

  constructor(name: string, config: RayLauncherConfig, deps: RayLauncherDeps) {
    this.name = name;
    this.#config = config;
    this.#deps = deps;
  }

  /** No local env: the node builds the recipe's dependencies. Only the bridge's interpreter is needed. */
  async prepare(loaded: LoadedRecipe): Promise<Prepared> {
    const executable =
      this.#config.python ??
      (await rayToolPython({
        home: this.#deps.home,
        version: this.#config.rayVersion,
        uv: this.#deps.uv,
        python: this.#deps.python,
        env: this.#bridgeEnvironment(),
        logger: this.#deps.logger,
      }));
    return { loaded, executable };
  }

  start({ loaded, executable }: Prepared, { podId, env }: PodStart): PodProcess {
    const config = this.#config;
    const spec = {
      podId,
      recipe: loaded.recipe.name,
      recipeDir: loaded.dir,
      address: config.address,
      namespace: config.namespace,
      resources: config.resources,
      numCpus: config.numCpus,
      numGpus: config.numGpus,
      memoryMB: loaded.recipe.memoryMB,
      placementTimeout: config.placementTimeout,
      connectTimeout: config.connectTimeout,
      dependencies: loaded.recipe.dependencies,
      wheelhouse: config.wheelhouse,
    };
    return spawnBridge(
      {
        executable: executable ?? 'python3',
        args: ['-u', '-c', BRIDGE_BOOTSTRAP],
        cwd: loaded.dir,
        env: {
          ...this.#bridgeEnvironment(),
          PYTHONPATH: PODS_DIR,
          PODKEEPER_POD_ID: podId,
          PODKEEPER_RAY_SPEC: JSON.stringify(spec),
          PODKEEPER_RAY_POD_ENV: JSON.stringify(env),
        },
      },
      this.name,
    );
  }

  #bridgeEnvironment(): Record<string, string | undefined> {
    const from = this.#deps.environment ?? process.env;
    const picked: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(from)) {
      // RAY_* tunes the driver (RAY_TMPDIR, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER…); UV_* its tool env build.
      if (BRIDGE_ENV.includes(name) || name.startsWith('RAY_') || name.startsWith('UV_'))
        picked[name] = value;
    }
    picked['PATH'] ??= ['/usr/local/bin', '/usr/bin', '/bin'].join(delimiter);
    return picked;
  }
}
