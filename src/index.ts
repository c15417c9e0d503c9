/** podkeeper's library API. */

export { ERROR_CODES, type ErrorCode, isPodkeeperError, PodkeeperError } from './errors.js';
export {
  type InstallProgress,
  type InstallRequest,
  RecipeInstaller,
  type RecipeInstallerOptions,
} from './install/installer.js';
export type { ManagerEvent, PodInfo } from './manager/events.js';
export type { PodManagerOptions } from './manager/options.js';
export { type CallOptions, PodManager, type PodSelector } from './manager/pod-manager.js';
export type { PodLogLine } from './pod/log-buffer.js';
export {
  type ExitReason,
  Pod,
  type PodExit,
  type PodOptions,
  type PodState,
  type RequestOptions,
} from './pod/pod.js';
export * from './protocol/pod.js';
export { type LoadedRecipe, RecipeCatalog, readRecipe } from './recipes/catalog.js';
export { type Recipe, recipeSchema } from './recipes/schema.js';
export { JsonLinesChannel } from './transport/json-lines.js';
