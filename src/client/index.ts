/**
 * `podkeeper/client`: talk to a podkeeper daemon from TypeScript.
 *
 * ```ts
 * import { connect } from 'podkeeper/client';
 * const client = await connect();                 // or: await spawnDaemon({ stdio: true })
 * const call = client.call('echo', { text: 'hi' });
 * for await (const event of call) console.log(event); // progress and chunks, as they arrive
 * console.log(await call);                         // the result
 * await client.close();
 * ```
 */

// First: on too old a Node, fail here with a coded error, before any module that needs a newer one.
import '../node-version.js';

export { isPodkeeperError, PodkeeperError } from '../errors.js';
export type { ControlAction, EventName } from '../protocol/control.js';
export type { ControlEvent } from '../protocol/control-replies.js';
export type {
  EnvironmentSummary,
  GcResultWire as GcResult,
  LogLine,
  PodInfoWire as PodInfo,
  RecipeSummary,
  StatusResult,
} from '../protocol/control-results.js';
export { type ClientCallOptions, type ClientEvents, type ClientOptions, PodkeeperClient } from './client.js';
export {
  type ConnectOptions,
  connect,
  type SpawnDaemonOptions,
  type SpawnedDaemon,
  spawnDaemon,
} from './connect.js';
export { type CallEvent, CallHandle, Subscription } from './streams.js';
