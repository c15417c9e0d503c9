/**
 * Running out of file descriptors: `status` and `pods.list` share one bounded walk of /proc, so a
 * flood of them never exhausts the daemon's descriptors; and a pod whose spawn fails for want of
 * descriptors ends in a coded, restartable failure instead of staying `starting` forever.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { FIXTURE_RECIPES, RUN_MARKER, tempDir } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

describe('file descriptors', () => {
  it('1,000 pipelined status and pods.list requests all succeed under ulimit -n 256', async () => {
    const daemon = await startDaemon({ maxOpenFiles: 256 });
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'warm', action: 'call', payload: { target: 'echo', input: 1 } });
    expect(await client.answer('warm')).toMatchObject({ success: true });
    for (let i = 0; i < 1000; i++) client.send({ id: i, action: i % 2 === 0 ? 'status' : 'pods.list' });
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.answer(i, 30_000)));
    const failed = answers.filter((answer) => answer['success'] !== true);
    expect(failed.slice(0, 3)).toEqual([]);
    // every answer measured the echo pod (a /proc file that could not be opened must not read as 0 MB)
    const measured = answers.map((answer, i) => {
      const result = answer['result'] as { pods: unknown; memory?: { usedMB: number } };
      return i % 2 === 0 ? result.memory?.usedMB : (result.pods as { rssMB: number }[])[0]?.rssMB;
    });
    expect(measured.filter((mb) => !(mb !== undefined && mb > 1)).slice(0, 3)).toEqual([]);
    client.send({ id: 'after', action: 'call', payload: { target: 'echo', input: 2 } });
    expect(await client.answer('after')).toMatchObject({ success: true, result: 2 });
  });

  it('a spawn that fails with EMFILE is SPAWN_FAILED within 5 s; stop and close return; the next call succeeds', async () => {
    const options = {
      recipePath: [FIXTURE_RECIPES],
      home: tempDir(),
      stopGrace: 2,
      restart: { backoffBase: 0.05 },
      env: { PODKEEPER_TEST_RUN: RUN_MARKER },
    };
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        '/bin/sh',
        [
          '-c',
          'ulimit -n 128 && exec "$0" "$@"',
          process.execPath,
          '--import',
          join(FIXTURES, 'env', 'ts-hooks.mjs'),
          join(FIXTURES, 'fd', 'emfile-child.ts'),
          JSON.stringify(options),
        ],
        { env: { ...process.env, PODKEEPER_TEST_RUN: RUN_MARKER }, timeout: 60_000 },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
    });
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { step: string; outcome: Record<string, unknown>; tookMs: number });
    const steps = Object.fromEntries(lines.map(({ step, outcome }) => [step, outcome]));
    // the pod gives up on its spawn after 1 s (SPAWN_REPORT_MS); 5 s leaves room for a loaded machine
    expect(lines.find(({ step }) => step === 'exhausted')?.tookMs).toBeLessThan(5000);
    expect(steps['warm']).toEqual({ result: 1 });
    expect(steps['exhausted']).toMatchObject({ error: { code: 'SPAWN_FAILED', errno: 'EMFILE' } });
    expect(steps['retries']).toEqual({ result: Array(5).fill('SPAWN_FAILED') });
    expect(steps['stop']).toHaveProperty('result');
    expect(steps['again']).toEqual({ result: 3 });
    // memory sampling out of descriptors: reports degrade, a spawn fails with a coded error
    expect(steps['list']).toEqual({ result: [null] });
    expect(steps['memory']).toMatchObject({
      result: { usedMB: null, warning: expect.stringMatching(/ulimit -n/) },
    });
    expect(steps['spawn']).toMatchObject({ error: { code: 'RESOURCE_EXHAUSTED', errno: 'EMFILE' } });
    expect(steps['measured']).toEqual({ result: [true] });
    expect(steps['close']).toEqual({ result: null });
  });
});
