/**
 * What the daemon needs from a recipe installer (DESIGN §5). The installer itself is another issue;
 * the daemon receives one, and until a build carries a real one every install answers
 * `INSTALL_FAILED` saying so.
 */
import { PodkeeperError } from '../errors.js';
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
export type DaemonInstallRequest = InstallRequest & Required<Pick<InstallRequest, 'signal' | 'onProgress'>>;

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

/** The installer of a build that has none. */
export const unavailableInstaller: Installer = {
  install: (request) =>
    Promise.reject(
      new PodkeeperError(
        'INSTALL_FAILED',
        `Cannot install "${request.source}": recipe installs are not available in this build of podkeeper. ` +
          'Put the recipe folder on PODKEEPER_RECIPE_PATH (or --recipe-path) and restart the daemon instead.',
        { details: { source: request.source } },
      ),
    ),
  remove: (name) =>
    Promise.reject(
      new PodkeeperError(
        'INSTALL_FAILED',
        `Cannot remove "${name}": recipe installs are not available in this build of podkeeper.`,
        { details: { name } },
      ),
    ),
};
