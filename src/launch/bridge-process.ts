/**
 * A bridge's process as the pod sees it: an ordinary local process (its own group, piped stdio),
 * whose stderr also carries the bridge's own lines (pods/podkeeper_ray/stdio.py):
 *
 *   podkeeper-bridge: asking {"resources": …}               ─▶ `where.askedAt`: it waits for a node
 *   podkeeper-bridge: placed {"node": …, "host": …}        ─▶ `where` (no longer placing)
 *   podkeeper-bridge: failure {"code": …, "message": …}    ─▶ `exited`'s coded `failure`
 *
 * Every stderr line still reaches the pod's log.
 */
import { PassThrough } from 'node:stream';
import split2 from 'split2';
import { ERROR_CODES, type ErrorCode, PodkeeperError } from '../errors.js';
import {
  type PodProcess,
  type PodProcessSpec,
  type ProcessExit,
  spawnPodProcess,
  type Where,
} from '../pod/spawn.js';
import { wait } from '../process/group.js';

const PREFIX = 'podkeeper-bridge: ';
/** How long after the exit the last stderr lines may take to arrive. */
const STDERR_DRAIN_MS = 500;

export function spawnBridge(spec: PodProcessSpec, launcher: string): PodProcess {
  const where: Where = { launcher, locality: 'remote', placing: true };
  const child = spawnPodProcess(spec, where);
  const stderr = new PassThrough();
  const lines = new PassThrough();
  child.stderr.pipe(stderr);
  child.stderr.pipe(lines);
  let failure: PodkeeperError | undefined;
  const ended = new Promise<void>((resolve) => {
    lines.pipe(split2()).on('data', (line: string) => {
      if (!line.startsWith(PREFIX)) return;
      const parsed = parseBridgeLine(line.slice(PREFIX.length));
      if (parsed?.kind === 'asking') where.askedAt = Date.now();
      else if (parsed?.kind === 'placed') {
        where.placing = false;
        where.node = parsed.node;
        where.host = parsed.host;
      } else if (parsed?.kind === 'failure') failure = parsed.error;
    });
    lines.on('end', resolve);
    lines.on('close', resolve);
  });
  const exited = child.exited.then(async (exit): Promise<ProcessExit> => {
    await wait(STDERR_DRAIN_MS, ended);
    return failure ? { ...exit, failure } : exit;
  });
  return { ...child, stderr, exited, where, signal: child.signal };
}

type BridgeLine =
  | { kind: 'asking' }
  | { kind: 'placed'; node: string | undefined; host: string | undefined }
  | { kind: 'failure'; error: PodkeeperError };

/** One bridge line without its prefix; undefined for a plain note. */
export function parseBridgeLine(text: string): BridgeLine | undefined {
  const space = text.indexOf(' ');
  const word = text.slice(0, space);
  if (word === 'asking') return { kind: 'asking' };
  if (word !== 'placed' && word !== 'failure') return undefined;
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(text.slice(space + 1)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (word === 'placed') {
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    return { kind: 'placed', node: text(fields['node']), host: text(fields['host']) };
  }
  const code = String(fields['code']);
  const known = (ERROR_CODES as readonly string[]).includes(code);
  return {
    kind: 'failure',
    error: new PodkeeperError(
      known ? (code as ErrorCode) : 'POD_CRASHED',
      String(fields['message'] ?? 'the bridge failed'),
      { details: known ? {} : { bridgeCode: code } },
    ),
  };
}
