/**
 * `call --input-file` / `--output-file`: a file's bytes as the call's input (or one field of it),
 * and the bytes of the answer written to a file, so audio, images and arrays never pass through
 * the terminal as JSON. Without `--output-file`, bytes in a printed result show as base64.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PodkeeperError } from '../errors.js';
import { bytesAsBase64 } from '../transport/frames.js';

/** The call's input with the file's bytes: the whole input, or `field` of the JSON object input. */
export function inputWithFile(input: unknown, path: string, field: string | undefined): unknown {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new PodkeeperError('INVALID_OPTION', `Cannot read --input-file ${path} (${reason}).`, {
      cause,
      details: { field: 'input-file', received: path },
    });
  }
  if (field === undefined) return data;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PodkeeperError('INVALID_OPTION', '--input-field needs the JSON input to be an object.', {
      details: { field: 'input-field', received: field },
    });
  }
  return { ...input, [field]: data };
}

/**
 * Writes the result's bytes (the result itself, or its one bytes value) to `path`, whole or not at
 * all (a temporary file beside it, then a rename), and returns what is left to print: the result with
 * `{"file", "size"}` where the bytes were.
 */
export function writeOutputFile(result: unknown, path: string): unknown {
  const found: { data: Uint8Array; replace: (value: unknown) => unknown }[] = [];
  if (result instanceof Uint8Array) found.push({ data: result, replace: (value) => value });
  else if (typeof result === 'object' && result !== null && !Array.isArray(result)) {
    for (const [key, value] of Object.entries(result)) {
      if (value instanceof Uint8Array)
        found.push({ data: value, replace: (info) => ({ ...result, [key]: info }) });
    }
  }
  const [only] = found;
  if (found.length !== 1 || only === undefined) {
    throw new PodkeeperError(
      'BAD_RESPONSE',
      `--output-file needs a result that is bytes or has exactly one bytes field; this one has ${found.length}.`,
      { details: { field: 'output-file', result: bytesAsBase64(result) } },
    );
  }
  const temporary = join(dirname(path), `.${process.pid}.${Date.now()}.podkeeper-part`);
  try {
    writeFileSync(temporary, only.data);
    renameSync(temporary, path);
  } catch (cause) {
    rmSync(temporary, { force: true });
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new PodkeeperError('INVALID_OPTION', `Cannot write --output-file ${path} (${reason}).`, {
      cause,
      details: { field: 'output-file', received: path },
    });
  }
  return only.replace({ file: path, size: only.data.byteLength });
}
