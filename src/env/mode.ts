/**
 * Which kind of environment pods get (DESIGN §4): `venv` (one uv venv per dependency set) or
 * `system` (the system interpreter, as in a Docker image that already carries PyTorch). `auto` picks
 * `system` inside a container and `venv` elsewhere.
 */
import { existsSync, readFileSync } from 'node:fs';

export type EnvMode = 'auto' | 'venv' | 'system';
export type ResolvedEnvMode = Exclude<EnvMode, 'auto'>;

/** True inside a Docker, containerd or Kubernetes container (Linux). */
export function insideContainer(): boolean {
  if (existsSync('/.dockerenv')) return true;
  try {
    return /docker|containerd|kubepods/.test(readFileSync('/proc/1/cgroup', 'utf8'));
  } catch {
    return false;
  }
}

export function resolveEnvMode(mode: EnvMode, container: boolean): ResolvedEnvMode {
  if (mode !== 'auto') return mode;
  return container ? 'system' : 'venv';
}

/** True when this process may install system packages: root, inside a container. */
export function mayInstallSystemPackages(container: boolean): boolean {
  return container && process.getuid?.() === 0;
}
