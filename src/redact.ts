/**
 * The one function that hides credentials wherever podkeeper shows text (error messages, events,
 * daemon.log, stderr, the CLI). Two kinds are hidden, each replaced by `***`:
 *   - the user:password (or token) part of a URL: `pkg @ https://user:token@host/…` → `https://***@host/…`;
 *   - the value of every environment variable whose name says it is a secret (`HF_TOKEN`, `*_TOKEN`,
 *     `*_KEY`, `*_SECRET`, `*PASSWORD*`, …), wherever it appears: the daemon's own environment is
 *     read once, and the manager's `env` option is added with {@link rememberSecrets}.
 * Values shorter than 8 characters are not hunted for: hiding every "1" would ruin the logs.
 */

/** `scheme://` followed by userinfo and `@`: the userinfo goes. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>\\]+@/gi;
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|(^|_)(API_?)?KEY$|^KEY_|_KEY_)/i;
const MIN_SECRET_LENGTH = 8;
const MASK = '***';

const secrets = new Set<string>();
let daemonEnvRead = false;

/** True when a variable of this name holds a secret by its name alone. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** True when the value carries credentials inside a URL. */
export function hasUrlCredentials(value: string): boolean {
  URL_CREDENTIALS.lastIndex = 0;
  return URL_CREDENTIALS.test(value);
}

/** Adds the secret-named variables of `env` to what {@link redact} hides. */
export function rememberSecrets(env: Readonly<Record<string, string | undefined>>): void {
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH && isSecretName(name)) secrets.add(value);
  }
}

/** `text` with URL credentials and known secret values replaced by `***`. */
export function redact(text: string): string {
  if (!daemonEnvRead) {
    daemonEnvRead = true;
    rememberSecrets(process.env);
  }
  let out = text.includes('@') ? text.replace(URL_CREDENTIALS, `$1${MASK}@`) : text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(MASK);
  return out;
}

/** A JSON-shaped value with {@link redact} applied to every string in it. */
export function redactJson<T>(value: T): T {
  const text = JSON.stringify(value);
  const hidden = redact(text);
  if (hidden === text) return value;
  try {
    return JSON.parse(hidden) as T;
  } catch {
    return value; // a secret that spanned JSON syntax: cannot happen with real tokens
  }
}

/** A stream that writes what it is given with {@link redact} applied (pino's log destinations). */
export function redactingStream(out: { write(text: string): unknown }): { write(text: string): void } {
  return {
    write(text: string) {
      out.write(redact(text));
    },
  };
}

/** The URL without credentials, query or fragment (tokens travel there too): for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}
