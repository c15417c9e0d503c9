/**
 * The CLI's exit codes (documented in the README):
 *   0  success
 *   1  the command or call failed; stderr says `CODE: message`
 *   2  usage error: unknown command or option, bad argument, input that is not JSON, invalid
 *      configuration (BAD_REQUEST, INVALID_OPTION)
 *   3  no daemon is running (DAEMON_NOT_RUNNING); stderr gives the command that starts one
 *   130 interrupted (Ctrl-C during `call`; the call is cancelled on the daemon)
 */
import { isPodkeeperError } from '../errors.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, noDaemon: 3, interrupted: 130 } as const;

export function exitCodeFor(error: unknown): number {
  if (!isPodkeeperError(error)) return EXIT.failed;
  switch (error.code) {
    case 'BAD_REQUEST':
    case 'INVALID_OPTION':
    case 'UNKNOWN_ACTION':
      return EXIT.usage;
    case 'DAEMON_NOT_RUNNING':
      return EXIT.noDaemon;
    default:
      return EXIT.failed;
  }
}
