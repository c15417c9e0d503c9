/**
 * The daemon's configuration, from four layers: flags > env (`PODKEEPER_*`) > `$PODKEEPER_HOME/config.json`
 * > defaults. It is validated once, here; a bad value is `INVALID_OPTION` naming the field, where
 * it came from, and the value received.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { z } from 'zod';
import { PodkeeperError } from '../errors.js';
import { checkHttpSettings, type HttpAddress } from '../http/address.js';
import { launchersSchema, placementSchema } from '../launch/config.js';
import { convert, envLayer, type Kind, type Layer } from '../location/environment.js';
import { configFile, defaultSocketPath, resolveHome } from '../location/home.js';
import { checkTrustedDir, checkTrustedFile, modeOf } from '../location/home-checks.js';

const seconds = z.number().min(0);

/** Fields of `config.json` (every field is optional there). */
const configFileSchema = z.strictObject({
  /** Control socket path. @default $PODKEEPER_HOME/podkeeper.sock */
  socket: z.string().min(1),
  /** Extra recipe folders, searched before the built-in ones. @default [] */
  recipePath: z.array(z.string().min(1)),
  /** Base interpreter for pods. @default python3 */
  python: z.string().min(1),
  /** Idle seconds before a pod is stopped; 0 = after each reply, -1 = never. @default 300 */
  idleTimeout: z.number().min(-1),
  /** Budget for the summed RSS of all pods, MB. @default half of the machine's RAM */
  maxMemoryMB: z.number().positive(),
  /** @default "info" */
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  /** Seconds in-flight calls get to finish when the daemon stops. @default 10 */
  shutdownGrace: seconds,
  /** Unwritten output a client may hold before it is dropped as too slow, MB. @default 4 */
  maxClientBufferMB: z.number().positive(),
  /** Unwritten output all clients together may hold; past it the one holding most is dropped, MB. @default 32 */
  maxClientBufferTotalMB: z.number().positive(),
  /** Longest protocol line, pods and control clients alike, bytes (UTF-8). @default 64 MiB */
  maxLineLength: z.number().int().min(1024),
  /** daemon.log size that triggers a rotation, MB. @default 10 */
  logMaxMB: z.number().positive(),
  /** Rotated daemon.log files kept. @default 3 */
  logKeep: z.number().int().min(1).max(20),
  /** Seconds for a pod's stop sequence. @default 5 */
  stopGrace: z.number().positive(),
  /** Seconds an upgraded or removed recipe's old pod may take to finish its calls. @default 30 */
  drainTimeout: seconds,
  /** Seconds a pod may take to become ready without a log line. @default 120 */
  readyTimeout: z.number().positive(),
  /** Requests waiting per pod before QUEUE_FULL. @default 1024 */
  maxQueue: z.number().int().min(1),
  /** Seconds a spawn waits for room under the memory budget. @default 30 */
  memoryWait: seconds,
  /** Serve the built-in recipes. @default true */
  builtinRecipes: z.boolean(),
  /** Fork the pods of recipes that declare `preload` from a zygote. @default true */
  zygotes: z.boolean(),
  /** Extra environment for every pod. @default {} */
  env: z.record(z.string(), z.string()),
  /** Pods' Python environments: `venv`, `system`, or `auto` (= venv, even inside a container). @default "auto" */
  envMode: z.enum(['auto', 'venv', 'system']),
  /** The uv executable. @default uv on PATH, else one installed into the home */
  uv: z.string().min(1),
  /** A folder of wheels passed to the installer as `--find-links` (offline installs). */
  wheelhouse: z.string().min(1),
  /** Let uv download a Python a recipe's `python` requirement needs. @default uv's own (UV_PYTHON_DOWNLOADS) */
  pythonDownloads: z.boolean(),
  /** Seconds one env command (uv, pip, apt) may run before its process tree is killed. @default 300 */
  envBuildTimeout: z.number().positive(),
  /** Serve the status page, JSON API and /metrics on HOST:PORT (loopback unless httpAllowRemote). @default off */
  http: z.string().min(1),
  /** Allow a non-loopback `http` address (needs PODKEEPER_HTTP_TOKEN too). @default false */
  httpAllowRemote: z.boolean(),
  /** Where pods may run besides this machine: `{"gpu": {"kind": "ray", "address": …}}`. @default {} */
  launchers: launchersSchema,
  /** Recipe name → launcher name (a recipe not named runs locally). @default {} */
  placement: placementSchema,
});

/** Every field config.json may set: what `podkeeper config` shows (besides the home). */
export type ConfigFileField = keyof typeof configFileSchema.shape;
export const CONFIG_FILE_FIELDS = Object.keys(configFileSchema.shape) as ConfigFileField[];

const configSchema = configFileSchema.partial().extend({
  home: z.string().min(1),
  socket: z.string().min(1),
  recipePath: z.array(z.string().min(1)),
  logLevel: configFileSchema.shape.logLevel.default('info'),
  shutdownGrace: seconds.default(10),
  maxClientBufferMB: z.number().positive().default(4),
  maxClientBufferTotalMB: z.number().positive().default(32),
  logMaxMB: z.number().positive().default(10),
  logKeep: z.number().int().min(1).max(20).default(3),
  builtinRecipes: z.boolean().default(true),
  env: z.record(z.string(), z.string()).default({}),
  envMode: configFileSchema.shape.envMode.default('auto'),
});

export type DaemonConfig = z.infer<typeof configSchema> & {
  /** The checked HTTP listener settings, when `http` is set. */
  httpListener?: { address: HttpAddress; token: string | undefined };
};

/** What the `daemon` command's flags can set (strings as typed; validated with the rest). */
export interface DaemonFlags {
  home?: string;
  socket?: string;
  idleTimeout?: string;
  maxMemory?: string;
  recipePath?: string;
  python?: string;
  logLevel?: string;
  envMode?: string;
  uv?: string;
  wheelhouse?: string;
  envBuildTimeout?: string;
  http?: string;
  httpAllowRemote?: boolean;
}

const FLAG_FIELDS: Record<keyof DaemonFlags, { field: string; flag: string; kind: Kind }> = {
  home: { field: 'home', flag: '--home', kind: 'path' },
  socket: { field: 'socket', flag: '--socket', kind: 'path' },
  idleTimeout: { field: 'idleTimeout', flag: '--idle-timeout', kind: 'number' },
  maxMemory: { field: 'maxMemoryMB', flag: '--max-memory', kind: 'number' },
  recipePath: { field: 'recipePath', flag: '--recipe-path', kind: 'paths' },
  python: { field: 'python', flag: '--python', kind: 'string' },
  logLevel: { field: 'logLevel', flag: '--log-level', kind: 'string' },
  envMode: { field: 'envMode', flag: '--env-mode', kind: 'string' },
  uv: { field: 'uv', flag: '--uv', kind: 'command' },
  wheelhouse: { field: 'wheelhouse', flag: '--wheelhouse', kind: 'path' },
  envBuildTimeout: { field: 'envBuildTimeout', flag: '--env-build-timeout', kind: 'number' },
  http: { field: 'http', flag: '--http', kind: 'string' },
  httpAllowRemote: { field: 'httpAllowRemote', flag: '--http-allow-remote', kind: 'flag' },
};

/** Builds and validates the daemon's configuration. */
export function loadDaemonConfig(
  flags: DaemonFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): DaemonConfig {
  return explainDaemonConfig(flags, env).config;
}

/**
 * The daemon's configuration and, for each field set by a layer, where its value came from (a flag
 * like `--idle-timeout`, `env PODKEEPER_…`, the config.json path, or `default`).
 */
export function explainDaemonConfig(
  flags: DaemonFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): { config: DaemonConfig; sources: Record<string, string>; file: string } {
  const home = resolveHome(flags.home, env);
  // Whoever may write the home could have written its config.json: judge the home before reading it.
  if (existsSync(home)) checkTrustedDir(home, 'home');
  const file = configFile(home);
  const layers: Layer[] = [readConfigFile(file), envLayer(env), flagLayer(flags)];
  const merged: Layer = {
    home: {
      value: home,
      source: flags.home ? '--home' : env['PODKEEPER_HOME'] ? 'env PODKEEPER_HOME' : 'default',
    },
    socket: { value: defaultSocketPath(home), source: 'default' },
    recipePath: { value: [], source: 'default' },
  };
  for (const layer of layers) Object.assign(merged, layer);
  const input = Object.fromEntries(Object.entries(merged).map(([field, { value }]) => [field, value]));
  const parsed = configSchema.safeParse(input);
  if (parsed.success) {
    const sources = Object.fromEntries(Object.entries(merged).map(([field, { source }]) => [field, source]));
    return { config: withHttp(parsed.data, merged, env), sources, file };
  }
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  if (issue?.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `\`${key}\``).join(', ');
    throw new PodkeeperError('INVALID_OPTION', `Invalid configuration in ${file}: unknown field ${keys}.`, {
      details: { field: issue.keys[0], source: file },
    });
  }
  const entry = merged[field];
  const path = issue?.path.map(String).join('.') ?? field;
  throw new PodkeeperError(
    'INVALID_OPTION',
    `Invalid configuration: \`${path}\` (from ${entry?.source ?? 'default'}) ${issue?.message ?? 'is invalid'}, ` +
      `got ${JSON.stringify(entry?.value)}.`,
    { details: { field: path, source: entry?.source, received: entry?.value } },
  );
}

/** Checks the HTTP listener's settings as a whole (address, loopback, remote flag, token). */
function withHttp(config: DaemonConfig, merged: Layer, env: NodeJS.ProcessEnv): DaemonConfig {
  if (config.http === undefined) return config;
  const token = env['PODKEEPER_HTTP_TOKEN'] || undefined;
  const address = checkHttpSettings({
    http: config.http,
    allowRemote: config.httpAllowRemote === true,
    token,
    source: merged['http']?.source ?? 'default',
  });
  return { ...config, httpListener: { address, token } };
}

function readConfigFile(file: string): Layer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new PodkeeperError('INVALID_OPTION', `Cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
      details: { source: file },
    });
  }
  let text: string;
  let mode: number;
  try {
    // The file opened is the file checked: no swap between the check and the read.
    const stat = fstatSync(fd);
    checkTrustedFile(file, stat);
    mode = stat.mode;
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PodkeeperError('INVALID_OPTION', `${file} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
      details: { source: file },
    });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PodkeeperError('INVALID_OPTION', `${file} must hold a JSON object of settings.`, {
      details: { source: file },
    });
  }
  if ('env' in raw) checkPrivateSecrets(file, mode);
  const base = dirname(file);
  const layer: Layer = {};
  for (const [field, value] of Object.entries(raw)) {
    if (field === 'home') {
      throw new PodkeeperError(
        'INVALID_OPTION',
        `Invalid configuration in ${file}: \`home\` cannot be set in the home's own config.json; use --home or PODKEEPER_HOME.`,
        { details: { field, source: file } },
      );
    }
    let resolved = value;
    if ((field === 'socket' || field === 'wheelhouse') && typeof value === 'string')
      resolved = resolvePath(value, base);
    if (field === 'uv' && typeof value === 'string' && value.includes(sep))
      resolved = resolvePath(value, base);
    if (field === 'recipePath' && Array.isArray(value))
      resolved = value.map((v) => (typeof v === 'string' ? resolvePath(v, base) : v));
    layer[field] = { value: resolved, source: file };
  }
  return layer;
}

/**
 * `env` is where pods' tokens go (HF_TOKEN...): a config.json that sets it must be readable by its
 * owner alone. podkeeper never writes config.json, so the mode is the user's choice: refuse and say
 * the fix. One without `env` holds no secrets and may stay readable (an editor's 0644).
 */
function checkPrivateSecrets(file: string, mode: number): void {
  if ((mode & 0o044) === 0) return;
  throw new PodkeeperError(
    'INVALID_OPTION',
    `${file} sets \`env\` (often tokens) but is readable by others (mode ${modeOf(mode)}): ` +
      `run \`chmod 600 ${file}\`.`,
    { details: { field: 'env', source: file, mode: modeOf(mode) } },
  );
}

function flagLayer(flags: DaemonFlags): Layer {
  const layer: Layer = {};
  for (const [key, { field, flag, kind }] of Object.entries(FLAG_FIELDS)) {
    const raw = flags[key as keyof DaemonFlags];
    if (raw === undefined || field === 'home') continue;
    layer[field] = { value: convert(String(raw), kind), source: flag };
  }
  return layer;
}

function resolvePath(path: string, base: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}
