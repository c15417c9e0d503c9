/**
 * podkeeper's library API: what a host app builds on, chosen one name at a time (everything else is
 * internal and may change without a major version). The TypeScript client is `podkeeper/client`.
 */

// First: on too old a Node, fail here with a coded error, before any module that needs a newer one.
import './node-version.js';

export { installHostOf } from './daemon/install-host.js';
export { ERROR_CODES, type ErrorCode, isPodkeeperError, PodkeeperError } from './errors.js';
export type { InstallHost, SmokeStartResult } from './install/host.js';
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
// The pod protocol: its version, its parser and request schema, and the types of its messages.
export {
  type ChunkMessage,
  type ErrorBody,
  type LogLevel,
  type LogMessage,
  type ParseResult,
  POD_PROTOCOL_VERSION,
  type PodMessage,
  type PodRequest,
  type ProgressMessage,
  parsePodMessage,
  podRequestSchema,
  type ReadyMessage,
  type RequestEvent,
  type ResultMessage,
} from './protocol/pod.js';
export { type LoadedRecipe, RecipeCatalog, readRecipe } from './recipes/catalog.js';
export { type Recipe, recipeSchema } from './recipes/schema.js';
export { JsonLinesChannel } from './transport/json-lines.js';
