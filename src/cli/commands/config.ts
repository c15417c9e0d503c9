/**
 * `podkeeper config`: the configuration a daemon started with the same flags and environment would
 * run with, each value beside where it came from (flag > env > config.json > default). It reads
 * config.json with the daemon's own checks and validation, so a bad value is the same
 * `INVALID_OPTION` the daemon would refuse to start with. Secrets in `env` are shown as `***`.
 */
import type { Command } from 'commander';
import {
  CONFIG_FILE_FIELDS,
  type ConfigFileField,
  type DaemonFlags,
  explainDaemonConfig,
} from '../../daemon/config.js';
import { resolveOptions } from '../../manager/options.js';
import { hasUrlCredentials, isSecretName, redact } from '../../redact.js';
import { withDaemonOptions } from '../daemon-options.js';
import { printJson, printTable } from '../output.js';

/** What an unset field means when the daemon's own defaults are not a plain value. */
const DESCRIBED_DEFAULTS: Record<string, string> = {
  uv: 'uv on PATH, else one installed into $home/tools',
  wheelhouse: 'none',
  pythonDownloads: "uv's own (UV_PYTHON_DOWNLOADS)",
  http: 'off',
  httpAllowRemote: 'false',
};

/** The order the README's table lists the settings in, then the config.json-only ones. */
const ORDER: readonly ConfigFileField[] = [
  'socket',
  'recipePath',
  'python',
  'idleTimeout',
  'maxMemoryMB',
  'logLevel',
  'shutdownGrace',
  'envMode',
  'uv',
  'wheelhouse',
  'envBuildTimeout',
  'http',
  'httpAllowRemote',
  'maxClientBufferMB',
  'maxClientBufferTotalMB',
  'maxLineLength',
  'logMaxMB',
  'logKeep',
  'stopGrace',
  'drainTimeout',
  'readyTimeout',
  'maxQueue',
  'memoryWait',
  'builtinRecipes',
  'env',
  'pythonDownloads',
];

/** Every setting: the home, then every config.json field (one missing from ORDER comes last). */
const FIELDS = ['home', ...new Set([...ORDER, ...CONFIG_FILE_FIELDS])];

interface EffectiveSetting {
  value: unknown;
  /** `--flag`, `env NAME`, the config.json path, or `default`. */
  source: string;
}

/** The effective settings with their sources. */
function effectiveConfig(
  flags: DaemonFlags,
  env: NodeJS.ProcessEnv = process.env,
): { file: string; settings: Record<string, EffectiveSetting> } {
  const { config, sources, file } = explainDaemonConfig(flags, env);
  // The manager's defaults for what the daemon leaves to it (idleTimeout, python, the memory budget…).
  const defaults: Record<string, unknown> = { ...resolveOptions({ home: config.home }, {}) };
  const values: Record<string, unknown> = { ...config };
  const settings: Record<string, EffectiveSetting> = {};
  for (const field of FIELDS) {
    const value = values[field] ?? defaults[field] ?? DESCRIBED_DEFAULTS[field] ?? null;
    settings[field] = {
      value: field === 'env' ? hideSecrets(value) : value,
      source: sources[field] ?? 'default',
    };
  }
  return { file, settings };
}

export function registerConfig(program: Command): void {
  withDaemonOptions(
    program
      .command('config')
      .description('the effective daemon configuration, and where each value comes from')
      .option('--json', 'machine-readable output'),
  ).action((options: DaemonFlags & { json?: boolean }) => {
    const { json, ...flags } = options;
    const { file, settings } = effectiveConfig(flags);
    if (json) return printJson({ file, settings });
    printTable(
      ['setting', 'value', 'from'],
      Object.entries(settings).map(([field, { value, source }]) => [field, show(value), source]),
    );
    process.stdout.write(`\nOrder: flags > env (PODKEEPER_*) > ${file} > defaults.\n`);
  });
}

/** `env` often holds tokens: a secret-looking name or a URL with a password shows `***`. */
function hideSecrets(env: unknown): unknown {
  if (typeof env !== 'object' || env === null) return env;
  return Object.fromEntries(
    Object.entries(env as Record<string, string>).map(([name, value]) => [
      name,
      isSecretName(name) || hasUrlCredentials(value) ? '***' : redact(value),
    ]),
  );
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(':');
  return JSON.stringify(value);
}
