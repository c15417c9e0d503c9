/**
 * What the daemon's control handlers need from a recipe installer, and the request an install takes.
 * `RecipeInstaller` (installer.ts) is the one implementation; see docs/architecture.md, "Installs".
 */
import type { AvailableRecipe, RecipeSummary } from '../protocol/control-results.js';

export interface InstallProgress {
  /** fetch, verify, unpack, validate, wait, env, prefetch, smoke, activate, done */
  step: string;
  /** 0..1 within the step, when known. */
  progress?: number;
  message?: string;
}

export interface InstallRequest {
  /** A directory, a .tar.gz, an http(s) URL of a tarball, or `name[@version]` from the index. */
  source: string;
  sha256?: string;
  /** Allow a remote source without sha256. */
  insecure?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: InstallProgress) => void;
}

/** A request as the daemon makes it: always with a signal and a progress listener. */
type DaemonInstallRequest = InstallRequest & Required<Pick<InstallRequest, 'signal' | 'onProgress'>>;

export interface Installer {
  /** Installs (or upgrades) a recipe; resolves once it is in place and served. */
  install(request: DaemonInstallRequest): Promise<RecipeSummary>;
  /** Removes an installed recipe; built-in recipes cannot be removed. */
  remove(name: string): Promise<void>;
  /** The index entry a missing target (name or capability) could be installed from, if the index is local. */
  installable?(target: string): Promise<{ name: string; version: string } | undefined>;
  /** The recipe index (`installed` left false: the caller knows what is installed). */
  available?(): Promise<AvailableRecipe[]>;
}
