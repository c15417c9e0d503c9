/**
 * A client's cancel reaches its call wherever the call waits: a cold call whose pod is still
 * loading (answered CANCELLED at once; the pod keeps loading), and a call queued in the pod's
 * request table behind a busy one. Real daemon, real pods (fixtures slow-setup and hang).
 */
import { describe, expect, it } from 'vitest';
import { rawConnect, startDaemon } from './daemon-helpers.js';

describe('a client cancel', () => {
  it('reaches a cold call waiting for its pod, and a call queued behind a busy pod', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    client.send({ id: 'sub', action: 'events.subscribe', payload: {} });
    await client.waitFor((line) => line['event'] === 'stream.started');

    client.send({ id: 'cold', action: 'call', payload: { target: 'slow-setup' } });
    await client.waitFor((line) => line['event'] === 'pod.spawned');
    client.send({ id: 'c1', action: 'cancel', payload: { id: 'cold' } });
    expect(await client.answer('cold')).toMatchObject({ success: false, error: { code: 'CANCELLED' } });
    expect(client.received.some((line) => line['event'] === 'pod.ready')).toBe(false);

    // `hang` takes the pod's one slot; the second call waits in the request table
    client.send({ id: 'busy', action: 'call', payload: { target: 'hang', input: { cooperative: true } } });
    await client.waitFor((line) => line['source'] === 'pod' && line['message'] === 'waiting for cancel');
    client.send({ id: 'queued', action: 'call', payload: { target: 'hang', input: { cooperative: true } } });
    client.send({ id: 'c2', action: 'cancel', payload: { id: 'queued' } });
    expect(await client.answer('queued')).toMatchObject({ success: false, error: { code: 'CANCELLED' } });
    client.send({ id: 'c3', action: 'cancel', payload: { id: 'busy' } });
    expect(await client.answer('busy')).toMatchObject({ success: false, error: { code: 'CANCELLED' } });
  }, 60_000);
});
