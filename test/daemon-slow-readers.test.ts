/**
 * Clients that stop reading while a noisy pod fills their streams: each is bounded on its own
 * (`maxClientBufferMB`) and all of them together (`maxClientBufferTotalMB`); the daemon drops them
 * promptly, says how much it holds (`status.clientBufferedBytes`), and keeps serving the others.
 */
import { describe, expect, it } from 'vitest';
import { type RawConnection, rawConnect, startDaemon } from './daemon-helpers.js';
import { eventually } from './helpers.js';
import { writeChatter } from './install-helpers.js';

const MB = 1024 * 1024;

describe('slow readers', () => {
  it('bounds what all non-readers hold together, drops them, and holds nothing once they are gone', {
    timeout: 60_000,
  }, async () => {
    const daemon = await startDaemon({
      config: { maxClientBufferMB: 1, maxClientBufferTotalMB: 2 },
      args: ['--recipe-path', writeChatter()],
    });
    const control = await rawConnect(daemon.socket);
    let asked = 0;
    const status = async () => {
      const id = `status-${asked++}`;
      control.send({ id, action: 'status' });
      return (await control.answer(id, 20_000))['result'] as {
        connections: number;
        clientBufferedBytes: number;
      };
    };
    expect(await status()).toMatchObject({ connections: 1, clientBufferedBytes: 0 });

    // Four subscribers that never read: alone each may hold 1 MB, together only 2 MB.
    const slow: RawConnection[] = [];
    for (let n = 0; n < 4; n++) {
      const client = await rawConnect(daemon.socket);
      client.send({ id: 'sub', action: 'events.subscribe', payload: { target: 'chatter' } });
      await client.waitFor((line) => line['event'] === 'stream.started');
      client.socket.pause();
      slow.push(client);
    }
    expect((await status()).connections).toBe(5);

    // ~50 MB of pod.log events for each subscriber, while the control client watches what is held.
    control.send({
      id: 'noise',
      action: 'call',
      payload: { target: 'chatter', input: { lines: 200_000, width: 200 } },
    });
    let noisy = true;
    const noise = control.answer('noise', 50_000).finally(() => {
      noisy = false;
    });
    const held: number[] = [];
    while (noisy) {
      const { clientBufferedBytes } = await status();
      held.push(clientBufferedBytes);
      await new Promise((resolve) => setTimeout(resolve, 20)); // paced: a probe, not a load
    }
    expect(await noise).toMatchObject({ success: true, result: 'done' });

    // Never more than the total bound (plus one unblocked batch); every slow client dropped.
    expect(Math.max(...held)).toBeLessThanOrEqual(2 * MB + 256 * 1024);
    expect((await status()).connections).toBe(1);
    expect(await eventually(() => daemon.stderr().includes('scope=all clients'), 5000)).toBe(true);
    expect((await status()).clientBufferedBytes).toBe(0);
  });
});
