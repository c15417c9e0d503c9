/**
 * `podkeeper daemon`: only wires. Configuration → logger → PodManager → Daemon → signals; resolves
 * with the exit code once the daemon has stopped and its log is flushed.
 */

import { RecipeInstaller } from '../install/installer.js';
import { resolveHome } from '../location/home.js';
import { createHome } from '../location/home-checks.js';
import { PodManager } from '../manager/pod-manager.js';
import { type DaemonFlags, loadDaemonConfig } from './config.js';
import { Daemon } from './daemon.js';
import { installHostOf } from './install-host.js';
import { createDaemonLogger } from './logger.js';
import { startMemoryReclaim } from './memory-reclaim.js';
import { watchNpmShell } from './npm-parent.js';

const MB = 1024 * 1024;

export interface RunDaemonOptions extends DaemonFlags {
  /** Serve the control protocol on stdin/stdout (a host app's child). */
  stdio?: boolean;
  /** Called once the daemon holds its socket (and answers), before it serves anything else. */
  onListening?: () => void;
}

export async function runDaemon(options: RunDaemonOptions): Promise<number> {
  // Created 0700 when missing; loadDaemonConfig judges it (ours, writable by no one else) before reading config.json.
  createHome(resolveHome(options.home));
  const config = loadDaemonConfig(options);
  const { logger, close: closeLog } = createDaemonLogger({
    home: config.home,
    level: config.logLevel,
    maxBytes: config.logMaxMB * 1024 * 1024,
    keep: config.logKeep,
  });
  // The config has layered and validated the PODKEEPER_* environment: the manager reads none of it again.
  const manager = new PodManager(
    {
      home: config.home,
      recipePath: config.recipePath,
      builtinRecipes: config.builtinRecipes,
      python: config.python,
      idleTimeout: config.idleTimeout,
      maxMemoryMB: config.maxMemoryMB,
      maxLineLength: config.maxLineLength,
      stopGrace: config.stopGrace,
      drainTimeout: config.drainTimeout,
      readyTimeout: config.readyTimeout,
      ...(config.zygotes === undefined ? {} : { zygotes: config.zygotes }),
      maxQueue: config.maxQueue,
      memoryWait: config.memoryWait,
      env: config.env,
      envMode: config.envMode,
      uv: config.uv,
      wheelhouse: config.wheelhouse,
      pythonDownloads: config.pythonDownloads,
      envBuildTimeout: config.envBuildTimeout,
      launchers: config.launchers,
      placement: config.placement,
      logger,
    },
    {},
  );
  const daemon = new Daemon({
    config,
    manager,
    installer: new RecipeInstaller({ host: installHostOf(manager), logger }),
    logger,
    stdio: options.stdio ? { input: process.stdin, output: process.stdout } : undefined,
    listen: !options.stdio || options.socket !== undefined,
  });

  // A second signal skips what is left of the grace. SIGHUP keeps its default (or nohup's ignore).
  const onSignal = (signal: NodeJS.Signals) => void daemon.shutdown(`received ${signal}`);
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  watchNpmShell((reason) => void daemon.shutdown(reason));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception: stopping');
    void daemon.shutdown('uncaught exception');
    process.exitCode = 1;
  });
  try {
    await daemon.start();
  } catch (error) {
    await manager.close();
    closeLog();
    throw error;
  }
  options.onListening?.();
  const stopReclaim = startMemoryReclaim({
    onReclaim: ({ rssBefore, rssAfter, pauseMs }) =>
      logger.info(
        { rssMB: Math.round(rssBefore / MB), nowMB: Math.round(rssAfter / MB), pauseMs: Math.round(pauseMs) },
        'quiet after a burst: memory given back',
      ),
  });
  await daemon.stopped;
  stopReclaim();
  closeLog();
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
