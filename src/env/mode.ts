/**
 * Which kind of environment pods get (docs/architecture.md#environments): `venv` (one uv venv per
 * dependency set) or `system` (the system interpreter, as in podkeeper's own Docker image). `auto`
 * means `venv`: being inside some container (a dev container, a CI runner, Codespaces) is no
 * permission to install into its Python. `system` is only ever chosen explicitly (the Dockerfile
 * sets PODKEEPER_ENV_MODE=system).
 */
import { existsSync, readFileSync } from 'node:fs';

export type EnvMode = 'auto' | 'venv' | 'system';
export type ResolvedEnvMode = Exclude<EnvMode, 'auto'>;

/** True inside a Docker, containerd or Kubernetes container (Linux). Only used to word a hint. */
export function insideContainer(): boolean {
  if (existsSync('/.dockerenv')) return true;
  try {
    return /docker|containerd|kubepods/.test(readFileSync('/proc/1/cgroup', 'utf8'));
  } catch {
    return false;
  }
}

/** `auto` is `venv`, wherever the daemon runs. */
export function resolveEnvMode(mode: EnvMode): ResolvedEnvMode {
  return mode === 'auto' ? 'venv' : mode;
}

/**
 * True when this process may install system packages with apt: root, in the explicitly chosen
 * system mode (podkeeper's own image). Never in venv mode, container or not.
 */
export function mayInstallSystemPackages(mode: ResolvedEnvMode): boolean {
  return mode === 'system' && process.getuid?.() === 0;
}
