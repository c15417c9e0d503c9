/** sha256 of a file, and the check that a fetched archive or file is the one asked for. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PodkeeperError } from '../errors.js';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Throws `INTEGRITY_ERROR` with both digests when `file` does not hash to `expected`; answers the
 * actual digest.
 */
export async function verifySha256(file: string, expected: string, what: string): Promise<string> {
  const actual = await sha256File(file);
  if (actual !== expected.toLowerCase()) {
    throw new PodkeeperError(
      'INTEGRITY_ERROR',
      `${what} does not match its sha256: expected ${expected.toLowerCase()}, got ${actual}. ` +
        'The file changed upstream or was corrupted in transit; do not install it unless you trust the new content ' +
        '(then install it again with the new sha256).',
      { details: { what, expected: expected.toLowerCase(), actual } },
    );
  }
  return actual;
}
