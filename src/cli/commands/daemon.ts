import type { Command } from 'commander';
import type { RunDaemonOptions } from '../../daemon/main.js';

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run the daemon in the foreground (Ctrl-C or `podkeeper shutdown` stops it)')
    .option('--stdio', 'speak the control protocol on stdin/stdout (for a host app that spawns it)')
    .option('--home <dir>', 'daemon home (env PODKEEPER_HOME)')
    .option('--socket <path>', 'control socket (env PODKEEPER_SOCKET); with --stdio: also listen here')
    .option('--idle-timeout <sec>', 'idle seconds before a pod is stopped; 0 = after each reply, -1 = never')
    .option('--max-memory <mb>', 'budget for the summed RSS of all pods, MB')
    .option('--recipe-path <dirs>', 'extra recipe folders, ":"-separated (env PODKEEPER_RECIPE_PATH)')
    .option('--python <exe>', 'base interpreter for pods (env PODKEEPER_PYTHON)')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent (env PODKEEPER_LOG_LEVEL)')
    .option('--env-mode <mode>', "pods' Python environments: auto, venv or system (env PODKEEPER_ENV_MODE)")
    .option('--uv <exe>', 'the uv that builds envs (env PODKEEPER_UV; default: uv on PATH)')
    .option('--wheelhouse <dir>', 'a folder of wheels for offline installs (env PODKEEPER_WHEELHOUSE)')
    .option('--env-build-timeout <sec>', 'seconds one env command may run (env PODKEEPER_ENV_BUILD_TIMEOUT)')
    .option(
      '--http <host:port>',
      'serve a status page, JSON API and /metrics here, e.g. 127.0.0.1:7878 (env PODKEEPER_HTTP)',
    )
    .option('--http-allow-remote', 'allow a non-loopback --http address (needs PODKEEPER_HTTP_TOKEN)')
    .action(async (options: RunDaemonOptions) => {
      const { runDaemon } = await import('../../daemon/main.js'); // the daemon's modules, only for it
      process.exitCode = await runDaemon(options);
      // Everything is closed; should a stray handle still hold the loop, do not hang on it.
      setTimeout(() => process.exit(), 2000).unref();
    });
}
