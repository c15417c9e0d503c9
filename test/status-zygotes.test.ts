/** Zygotes seen from a real daemon: `status` and `ps` show one row per zygote with its memory. */
import { describe, expect, it } from 'vitest';
import { rawConnect, runCli, startDaemon } from './daemon-helpers.js';
import { eventually } from './helpers.js';

interface ZygoteRow {
  recipe: string;
  pid: number;
  memoryMB: number | null;
}

describe('status and ps of a recipe with preload', () => {
  it('show its zygote: recipe, pid and the memory the budget counts', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'call', action: 'call', payload: { target: 'warm', input: {} } });
    expect((await client.answer('call', 20_000))['result']).toBeDefined();
    let zygotes: ZygoteRow[] = [];
    let asked = 0;
    const started = await eventually(async () => {
      const id = `status-${asked++}`;
      client.send({ id, action: 'status' });
      zygotes = ((await client.answer(id))['result'] as { zygotes: ZygoteRow[] }).zygotes;
      return zygotes.length > 0; // started in the background after the first pod
    }, 15_000);
    expect(started).toBe(true);
    expect(zygotes).toEqual([{ recipe: 'warm', pid: expect.any(Number), memoryMB: expect.any(Number) }]);
    const [zygote] = zygotes;
    expect(zygote?.memoryMB).toBeGreaterThan(1);

    const status = await runCli(['status', '--home', daemon.home]);
    expect(status.stdout).toMatch(new RegExp(`zygote\\s+warm: pid ${zygote?.pid}, [\\d.]+ MB`));
    const ps = await runCli(['ps', '--home', daemon.home]);
    expect(ps.stdout).toMatch(new RegExp(`^- +warm +- +zygote +${zygote?.pid} +[\\d.]+ +(- +){4}-$`, 'm'));
  });
});
