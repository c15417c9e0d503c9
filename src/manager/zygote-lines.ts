/**
 * What a zygote says on its stdout (pods/podkeeper_pod/zygote.py), one JSON object a line: first
 * that it has preloaded and listens, then, each time it changes, which spare pod takes the next pod
 * (its guardian's pid) or why it has none.
 */
import type { Readable } from 'node:stream';

export type ZygoteLine =
  | { type: 'zygote'; pid: number; preloadMs: number }
  | { type: 'spare'; pid: number }
  | { type: 'refusing'; code: string; reason: string };

/** Longer lines are not the zygote's: a broken one (it is stopped). */
const MAX_LINE = 64 * 1024;

/** Calls `onLine` with each line of `stdout`: parsed, or undefined (with its text) when it is none of the above. */
export function readZygoteLines(
  stdout: Readable,
  onLine: (line: ZygoteLine | undefined, text: string) => void,
): void {
  let pending = '';
  stdout.setEncoding('utf8').on('data', (text: string) => {
    pending += text;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      onLine(parseLine(line), line);
    }
    if (pending.length > MAX_LINE) {
      onLine(undefined, pending.slice(0, 200));
      pending = '';
    }
  });
}

export function parseLine(text: string): ZygoteLine | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, pid, code, reason } = value;
  if ((type === 'zygote' || type === 'spare') && Number.isInteger(pid) && (pid as number) > 0)
    return value as ZygoteLine;
  if (type === 'refusing' && typeof code === 'string' && typeof reason === 'string')
    return value as ZygoteLine;
  return undefined;
}
