/** The daemon's configuration flags, shared by `daemon` (which runs with them) and `config` (which shows their effect). */
import type { Command } from 'commander';

export function withDaemonOptions(command: Command): Command {
  return command
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
    .option('--http-allow-remote', 'allow a non-loopback --http address (needs PODKEEPER_HTTP_TOKEN)');
}
