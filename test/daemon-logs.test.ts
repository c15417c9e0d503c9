/**
 * The daemon's own log under a noisy pod: daemon.log is rotated by size as it is written (not once a
 * minute), so no file grows far past `logMaxMB`, and only `logKeep` generations stay.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { eventually } from './helpers.js';
import { writeChatter } from './install-helpers.js';

describe('daemon log rotation', () => {
  it('rotates daemon.log as a noisy pod writes, keeping logKeep files near logMaxMB', {
    timeout: 60_000,
  }, async () => {
    const maxBytes = 0.1 * 1024 * 1024;
    const daemon = await startDaemon({
      config: { logMaxMB: 0.1, logKeep: 2 },
      args: ['--recipe-path', writeChatter()],
    });
    const client = await rawConnect(daemon.socket);
    // 20 000 stderr lines of 100 bytes: each becomes a ~250-byte JSON line in daemon.log (~5 MB).
    client.send({
      id: 1,
      action: 'call',
      payload: { target: 'chatter', input: { lines: 20_000, width: 80 } },
    });
    expect(await client.answer(1, 30_000)).toMatchObject({ success: true, result: 'done' });

    const log = join(daemon.home, 'logs', 'daemon.log');
    // The daemon renames the file while it rotates: between that and the reopen it is not there.
    const read = (file: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw error;
      }
    };
    expect(await eventually(() => read(log).includes('chatter done'), 20_000)).toBe(true);

    // One write of the log (16 KiB at most) may land past the bound before the file is rotated.
    const slack = 16 * 1024 + 1024;
    for (const file of [log, `${log}.1`, `${log}.2`]) {
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).size).toBeLessThanOrEqual(maxBytes + slack);
    }
    expect(existsSync(`${log}.3`)).toBe(false);
    // The newest generations hold the end of the noise, in order.
    expect(read(`${log}.1`)).toMatch(/chatter line \d{7}/);
  });
});
