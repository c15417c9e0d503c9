/** Argument parsers: a bad value is a usage error (exit 2) naming the option. */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { PodkeeperError } from '../errors.js';

/** A call's timeout: seconds > 0 (the daemon refuses 0). */
export function timeoutSeconds(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0)
    throw new InvalidArgumentError('expected a number of seconds > 0');
  return number;
}

/** keep-alive: seconds, 0 = stop after the call, -1 = never. */
export function keepAlive(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < -1)
    throw new InvalidArgumentError('expected seconds ≥ 0, or -1 for never');
  return number;
}

export function count(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return number;
}

/** The input of `call`/`run`: a JSON argument, or `-` for stdin. */
export function jsonInput(input: string): unknown {
  const text = input === '-' ? readFileSync(0, 'utf8') : input;
  try {
    return JSON.parse(text);
  } catch {
    throw new PodkeeperError(
      'BAD_REQUEST',
      `The input is not valid JSON: ${text.slice(0, 80)}${text.length > 80 ? '…' : ''}. ` +
        `Quote it for the shell, e.g. '{"text":"hi"}', or pass - and pipe it on stdin.`,
    );
  }
}
