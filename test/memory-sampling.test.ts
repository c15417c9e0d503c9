/**
 * Memory sampling under a low file-descriptor limit: `status` and `pods.list` share one bounded walk
 * of /proc, so a flood of them never runs the daemon out of descriptors.
 */
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from './daemon-helpers.js';

describe('memory sampling', () => {
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
});
