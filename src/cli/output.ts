/** How the CLI prints: tables for people, JSON for scripts, errors as `CODE: message`, NO_COLOR honoured. */
import { createRequire } from 'node:module';
import { colorsFor } from '../colors.js';
import { isPodkeeperError } from '../errors.js';
import type { LogLine } from '../protocol/control-results.js';

const out = colorsFor(process.stdout);
const err = colorsFor(process.stderr);

export function printJson(value: unknown, pretty = true): void {
  process.stdout.write(`${JSON.stringify(value, null, pretty ? 2 : undefined)}\n`);
}

/** A borderless table, like `docker ps`: a bold header row, columns two spaces apart. */
export function printTable(head: string[], rows: (string | number)[][]): void {
  // Loaded here, not at start: the daemon's entry prints errors through this module and no tables.
  const Table = createRequire(import.meta.url)('cli-table3') as typeof import('cli-table3');
  const table = new Table({
    head: head.map((title) => out.bold(title)),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [] },
  });
  table.push(...rows.map((row) => row.map(String)));
  process.stdout.write(`${table.toString().replace(/[ \t]+$/gm, '')}\n`);
}

/** Two-column facts, for `status`. */
export function printFacts(facts: [string, string | number][]): void {
  const width = Math.max(...facts.map(([key]) => key.length));
  for (const [key, value] of facts) process.stdout.write(`${out.bold(key.padEnd(width))}  ${value}\n`);
}

/**
 * `CODE: message` on stderr, then the pod's traceback when the error carries one; with `json`, the
 * error's wire form (code, message, details such as traceback) as one JSON line instead.
 */
export function printError(error: unknown, json = false): void {
  const code = isPodkeeperError(error) ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    const wire = isPodkeeperError(error) ? error.toJSON() : { code, message };
    process.stderr.write(`${JSON.stringify(wire)}\n`);
    return;
  }
  process.stderr.write(`${err.red(code)}: ${message}\n`);
  const traceback = isPodkeeperError(error) ? error.details['traceback'] : undefined;
  if (typeof traceback === 'string' && traceback.trim() !== '')
    process.stderr.write(`${err.dim(traceback.replace(/\n?$/, '\n'))}`);
}

/** 75 → "1m15s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

const LEVEL_COLOURS: Record<LogLine['level'], (text: string) => string> = {
  debug: out.gray,
  info: (text) => text,
  warning: out.yellow,
  error: out.red,
};

export function formatLogLine(line: LogLine): string {
  const time = new Date(line.time).toISOString().slice(11, 23);
  const paint = LEVEL_COLOURS[line.level] ?? ((text: string) => text);
  return `${out.dim(time)} ${out.cyan(line.podId)} ${out.dim(line.source.padEnd(6))} ${paint(line.message)}`;
}
