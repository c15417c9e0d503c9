/**
 * Clients that stop reading while a noisy pod fills their streams. A subscriber that does not read
 * is not fed: while its socket is full its events are skipped and counted, and once it reads again
 * it is told how many it missed (`lagged`). Output that cannot be skipped (a call's chunks, final
 * answers) is bounded per client (`maxClientBufferMB`) and over all clients
 * (`maxClientBufferTotalMB`): past it the client is dropped. `status.clientBufferedBytes` says what
 * the daemon holds for clients.
 */
import { describe, expect, it } from 'vitest';
import { type RawConnection, rawConnect, startDaemon } from './daemon-helpers.js';
import { eventually } from './helpers.js';
import { writeChatter, writeRecipe } from './install-helpers.js';
import { commandLine } from './processes.js';

const MB = 1024 * 1024;

interface Status {
  connections: number;
  clientBufferedBytes: number;
}

function statusOf(control: RawConnection): () => Promise<Status> {
  let asked = 0;
  return async () => {
    const id = `status-${asked++}`;
    control.send({ id, action: 'status' });
    return (await control.answer(id, 20_000))['result'] as Status;
  };
}

/** Asks `status` (paced: a probe, not a load) until `done` settles; answers every reading of held bytes. */
async function watchHeld(status: () => Promise<Status>, done: Promise<unknown>): Promise<number[]> {
  let running = true;
  void done.finally(() => {
    running = false;
  });
  const held: number[] = [];
  while (running) {
    held.push((await status()).clientBufferedBytes);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return held;
}

describe('slow readers', () => {
  it('skips the events of subscribers that do not read, holds next to nothing, and tells them what they missed', {
    timeout: 90_000,
  }, async () => {
    const daemon = await startDaemon({
      config: { maxClientBufferMB: 1, maxClientBufferTotalMB: 2 },
      args: ['--recipe-path', writeChatter()],
    });
    const control = await rawConnect(daemon.socket);
    const status = statusOf(control);
    expect(await status()).toMatchObject({ connections: 1, clientBufferedBytes: 0 });

    // Four subscribers to the pod's log lines that stop reading.
    const slow: RawConnection[] = [];
    for (let n = 0; n < 4; n++) {
      const client = await rawConnect(daemon.socket);
      client.send({
        id: 'sub',
        action: 'events.subscribe',
        payload: { target: 'chatter', events: ['pod.log'] },
      });
      await client.waitFor((line) => line['event'] === 'stream.started');
      client.socket.pause();
      slow.push(client);
    }

    // ~22 MB of pod.log events for each subscriber: far past both bounds were they buffered.
    const LINES = 100_000;
    control.send({
      id: 'noise',
      action: 'call',
      payload: { target: 'chatter', input: { lines: LINES, width: 200 } },
    });
    const noise = control.answer('noise', 60_000);
    const held = await watchHeld(status, noise);
    expect(await noise).toMatchObject({ success: true, result: 'done' });

    // Nobody dropped, and what is held stays within what the sockets took before they blocked.
    expect((await status()).connections).toBe(5);
    expect(Math.max(...held)).toBeLessThanOrEqual(4 * 256 * 1024);
    expect(daemon.stderr()).not.toContain('dropping a client');

    // One subscriber reads again: it hears how many events it missed, then the new ones.
    const [back, ...still] = slow as [RawConnection, ...RawConnection[]];
    back.socket.resume();
    await back.waitFor((line) => line['event'] === 'lagged', 20_000);
    control.send({
      id: 'after',
      action: 'call',
      payload: { target: 'chatter', input: { lines: 10, width: 10 } },
    });
    expect(await control.answer('after', 20_000)).toMatchObject({ success: true });
    const lastOfSecond = 'chatter line 0000009 xxxxxxxxxx';
    const secondDone = () => {
      const at = back.received.findIndex((line) => line['message'] === lastOfSecond);
      return at >= 0 && back.received.slice(at).some((line) => line['message'] === 'chatter done');
    };
    expect(await eventually(secondDone, 20_000)).toBe(true);

    // Every log line was either delivered or counted as missed: none is lost without a word.
    const logs = back.received.filter((line) => line['event'] === 'pod.log').length;
    const lagged = back.received.filter((line) => line['event'] === 'lagged');
    const missed = lagged.reduce((sum, line) => sum + (line['dropped'] as number), 0);
    expect(lagged[0]).toMatchObject({ type: 'event', id: 'sub', event: 'lagged' });
    expect(missed).toBeGreaterThan(0);
    expect(logs + missed).toBe(LINES + 1 + 10 + 1);
    expect(still.every((client) => !client.socket.destroyed)).toBe(true);
  });

  it('drops a caller that stops reading its chunks, within the bound, and keeps serving the others', {
    timeout: 60_000,
  }, async () => {
    const recipes = writeRecipe({
      name: 'gusher',
      code: [
        'def process(payload, ctx):',
        '    chunk = "y" * 200',
        '    for _ in range(payload["chunks"]):',
        '        yield chunk',
        '',
      ].join('\n'),
    });
    const daemon = await startDaemon({
      config: { maxClientBufferMB: 1, maxClientBufferTotalMB: 2 },
      args: ['--recipe-path', `${recipes}/..`],
    });
    const control = await rawConnect(daemon.socket);
    const status = statusOf(control);
    control.send({ id: 'warm', action: 'call', payload: { target: 'gusher', input: { chunks: 1 } } });
    expect(await control.answer('warm', 20_000)).toMatchObject({ success: true });

    const caller = await rawConnect(daemon.socket);
    caller.send({ id: 'gush', action: 'call', payload: { target: 'gusher', input: { chunks: 200_000 } } });
    await caller.waitFor((line) => line['type'] === 'chunk');
    caller.socket.pause();
    const dropped = eventually(() => daemon.stderr().includes('scope=client'), 40_000);
    const held = await watchHeld(status, dropped);
    expect(await dropped).toBe(true);
    expect(Math.max(...held)).toBeLessThanOrEqual(MB + 256 * 1024);
    expect(await status()).toMatchObject({ connections: 1, clientBufferedBytes: 0 });

    // The pod is free again: the dropped caller's call was cancelled, not left running.
    control.send({ id: 'next', action: 'call', payload: { target: 'gusher', input: { chunks: 3 } } });
    expect(await control.answer('next', 10_000)).toMatchObject({ success: true });
  });

  it('never drops a client that reads, however large its answers: three of 5, 5 and 1 MB at once', {
    timeout: 60_000,
  }, async () => {
    const recipes = writeRecipe({
      name: 'big',
      manifest: { concurrency: 3 },
      code: ['def process(payload, ctx):', '    return "x" * (payload["mb"] * 1024 * 1024)', ''].join('\n'),
    });
    const daemon = await startDaemon({ args: ['--recipe-path', `${recipes}/..`] });
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'warm', action: 'call', payload: { target: 'big', input: { mb: 0 } } });
    expect(await client.answer('warm', 20_000)).toMatchObject({ success: true });
    for (const [id, mb] of [
      ['a', 5],
      ['b', 5],
      ['c', 1],
    ] as const)
      client.send({ id, action: 'call', payload: { target: 'big', input: { mb } } });
    for (const [id, mb] of [
      ['a', 5],
      ['b', 5],
      ['c', 1],
    ] as const) {
      const answer = await client.answer(id, 30_000);
      expect(answer['success'], JSON.stringify(answer).slice(0, 300)).toBe(true);
      expect((answer['result'] as string).length).toBe(mb * MB);
    }
    expect(daemon.stderr()).not.toContain('dropping a client');
  });

  it('reads no more requests from a client that does not read its answers (backpressure)', {
    timeout: 60_000,
  }, async () => {
    const daemon = await startDaemon();
    const control = await rawConnect(daemon.socket);
    const status = statusOf(control);
    const flooder = await rawConnect(daemon.socket);
    flooder.socket.pause();
    // 20,000 requests whose answers (~1 KB each) would be ~20 MB if the daemon kept reading them.
    const requests = Array.from({ length: 20_000 }, (_, i) => `{"id":${i},"action":"status"}\n`).join('');
    flooder.write(requests);
    const held: number[] = [];
    const settled = () => held.length >= 5 && held.at(-1) === held.at(-5);
    await eventually(
      () => {
        void status().then((reading) => held.push(reading.clientBufferedBytes));
        return settled();
      },
      30_000,
      200,
    );
    expect(settled()).toBe(true);
    expect(Math.max(...held)).toBeLessThan(4 * MB);
    flooder.socket.resume(); // reading again, the client gets every answer, in order
    await flooder.answer(19_999, 30_000);
    expect(flooder.received.filter((line) => 'success' in line)).toHaveLength(20_000);
  });

  it('runs the daemon with a small young generation, in the same process it was started as', async () => {
    const daemon = await startDaemon();
    const argv = commandLine(daemon.child.pid as number)?.split(' ') ?? [];
    expect(argv).toContain('--max-semi-space-size=4');
    expect(argv.slice(argv.indexOf('daemon'))).toEqual(['daemon', '--home', daemon.home]);
    const control = await rawConnect(daemon.socket);
    control.send({ id: 's', action: 'status' });
    expect((await control.answer('s'))['result']).toMatchObject({ pid: daemon.child.pid });
  });
});
