/**
 * The daemon's logs: pino JSON lines to `$PODKEEPER_HOME/logs/daemon.log` (rotated by size at start
 * and as it is written, see rotate.ts) and readable lines on stderr. Never stdout: in `--stdio` mode
 * stdout carries protocol lines only. Credentials are hidden from both (redact.ts).
 *
 *   logger ──multistream──▶ sonic-boom (async) ──▶ logs/daemon.log
 *                      └──▶ readable formatter ──▶ stderr   (colours on a terminal, NO_COLOR honoured)
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Level, type Logger, pino } from 'pino';
import { colorsFor } from '../colors.js';
import { redactingStream } from '../redact.js';
import { rotateAsWritten, rotateIfLarge } from './rotate.js';

const pc = colorsFor(process.stderr);

export interface DaemonLoggerOptions {
  home: string;
  level: Level | 'silent';
  /** daemon.log size that triggers a rotation, bytes. */
  maxBytes: number;
  keep: number;
  /** Where readable lines go. @default process.stderr */
  terminal?: NodeJS.WritableStream;
}

export interface DaemonLogger {
  logger: Logger;
  file: string;
  /** Writes what is buffered and stops the rotation. */
  close(): void;
}

export function createDaemonLogger(options: DaemonLoggerOptions): DaemonLogger {
  const dir = join(options.home, 'logs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'daemon.log');
  rotateIfLarge(file, options.maxBytes, options.keep);
  const destination = pino.destination({ dest: file, sync: false, mkdir: true });
  const terminal = readableStream(options.terminal ?? process.stderr);
  const level = options.level;
  const streams = pino.multistream([
    { level: level === 'silent' ? 'fatal' : level, stream: redactingStream(destination) },
    { level: level === 'silent' ? 'fatal' : level, stream: redactingStream(terminal) },
  ]);
  const logger = pino({ level, base: { pid: process.pid } }, streams);
  const stopRotating = rotateAsWritten(destination, file, options.maxBytes, options.keep);
  return {
    logger,
    file,
    close() {
      stopRotating();
      try {
        destination.flushSync();
      } catch {
        // not open yet, or already closed
      }
    },
  };
}

const LEVELS: Record<number, [string, (text: string) => string]> = {
  10: ['TRACE', pc.gray],
  20: ['DEBUG', pc.gray],
  30: ['INFO ', pc.green],
  40: ['WARN ', pc.yellow],
  50: ['ERROR', pc.red],
  60: ['FATAL', pc.red],
};
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Formats pino's JSON lines as `12:00:01.234 INFO  message key=value`. */
function readableStream(out: NodeJS.WritableStream) {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const [name, paint] = LEVELS[Number(record['level'])] ?? ['?    ', (text: string) => text];
      const time = new Date(Number(record['time'])).toISOString().slice(11, 23);
      const fields = Object.entries(record)
        .filter(([key]) => !HIDDEN.has(key))
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' ');
      out.write(
        `${pc.dim(time)} ${paint(name)} ${String(record['msg'] ?? '')}${fields ? ` ${pc.dim(fields)}` : ''}\n`,
      );
    },
  };
}
