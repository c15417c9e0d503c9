/** A crash-looping recipe, seen from a real daemon: bounded respawns, then `status` names it with its last stderr lines. */
import { describe, expect, it } from 'vitest';
import { rawConnect, runCli, startDaemon } from './daemon-helpers.js';

describe('status of a fatal recipe', () => {
  it('a crash at import respawns with growing backoff, turns POD_FATAL, and status shows its last stderr lines', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    const codes: unknown[] = [];
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      client.send({ id: i, action: 'call', payload: { target: 'crash-import', input: {} } });
      const answer = await client.answer(i, 20_000);
      times.push(Date.now() - started);
      codes.push((answer['error'] as { code: string }).code);
    }
    expect(codes).toEqual([
      'POD_CRASHED',
      'POD_CRASHED',
      'POD_CRASHED',
      'POD_CRASHED',
      'POD_CRASHED',
      'POD_FATAL',
    ]);
    // each respawn waited its backoff (0.5 s × 1.5ⁿ): later attempts take longer than the first
    expect(times[4]).toBeGreaterThan((times[1] ?? 0) + 500);
    client.send({ id: 'status', action: 'status' });
    const status = (await client.answer('status'))['result'] as { fatal: unknown };
    expect(status.fatal).toEqual([
      {
        recipe: 'crash-import',
        crashes: 5,
        retryInMs: expect.any(Number),
        stderrTail: expect.arrayContaining([expect.stringContaining('broken at import: missing model file')]),
      },
    ]);
    const cli = await runCli(['status', '--home', daemon.home]);
    expect(cli.stdout).toMatch(/fatal\s+crash-import: 5 crashes in a row/);
    expect(cli.stdout).toContain('RuntimeError: broken at import: missing model file');

    // pm2's `errored`: ps and recipes show the fatal recipe, with its last error.
    const ps = await runCli(['ps', '--home', daemon.home]);
    expect(ps.stdout).toMatch(/^- +crash-import +- +fatal +(- +){6}5$/m);
    expect(ps.stdout).toMatch(
      /^crash-import: fatal after 5 crashes in a row, .*podkeeper start crash-import.*; last error: .*missing model file/m,
    );
    const recipes = await runCli(['recipes', '--home', daemon.home]);
    expect(recipes.stdout).toMatch(/^crash-import +\S+ +\S+ +fatal /m);
  });
});
