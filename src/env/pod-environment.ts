/**
 * What a pod inherits from the daemon's environment: an explicit, documented base set, plus the
 * variables its recipe names in `passEnv`. Nothing else: a daemon started with `HF_TOKEN`,
 * `OPENAI_API_KEY` or a `UV_INDEX_URL` holding a password does not hand them to every pod.
 *
 * The base set is what a Python process needs to behave like one started by the user (PATH, HOME,
 * the locale, the temp dir, the terminal), to reach the network through the user's proxies and CA
 * bundle, to find GPUs and caches (CUDA_VISIBLE_DEVICES, HF_HOME…), and podkeeper's own `PODKEEPER_*`
 * and `UV_*`/`PIP_*` settings. Even in the base set, a variable whose name says it is a secret, or
 * whose value carries a password in a URL, is left out: a recipe asks for it with `passEnv`.
 * The manager's `env` option and the recipe's `env` are added by the caller, on top.
 */
import { hasUrlCredentials, isSecretName } from '../redact.js';

/** Inherited by every pod when the daemon has them (and they hold no credentials). */
const BASE_ENV: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TERM',
  'NO_COLOR',
  'LD_LIBRARY_PATH',
  'CUDA_VISIBLE_DEVICES',
  'NVIDIA_VISIBLE_DEVICES',
  'NVIDIA_DRIVER_CAPABILITIES',
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'HF_HOME',
  'HF_HUB_CACHE',
  'HF_ENDPOINT',
  'HF_HUB_OFFLINE',
  'HF_HUB_ENABLE_HF_TRANSFER',
  'TRANSFORMERS_CACHE',
  'TORCH_HOME',
  'PYTHONUNBUFFERED',
  'PYTHONDONTWRITEBYTECODE',
  'PYTHONIOENCODING',
];

/** Every variable starting with one of these is in the base set too. */
const BASE_ENV_PREFIXES: readonly string[] = ['LC_', 'XDG_', 'PODKEEPER_', 'UV_', 'PIP_'];

const BASE = new Set(BASE_ENV);

/** True when a pod inherits this variable without asking. */
function inBaseSet(name: string, value: string): boolean {
  if (!BASE.has(name) && !BASE_ENV_PREFIXES.some((prefix) => name.startsWith(prefix))) return false;
  return !isSecretName(name) && !hasUrlCredentials(value);
}

/** The part of the daemon's environment a pod of a recipe with this `passEnv` gets. */
export function inheritedEnvironment(
  daemonEnv: Readonly<Record<string, string | undefined>>,
  passEnv: readonly string[],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(daemonEnv)) {
    if (value !== undefined && inBaseSet(name, value)) env[name] = value;
  }
  for (const name of passEnv) {
    const value = daemonEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
