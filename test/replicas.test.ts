/**
 * Warm pools and replicas with real pods: a `minWarm` pod is ready before any call and after a
 * reclaim, replicas start when calls queue and stop when idle, the memory budget refuses a replica
 * that does not fit, and a crash of one replica fails no call on another. Timing rules with fake
 * timers: test/unit/replicas.test.ts.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type CallEvent, connect } from '../src/client/index.js';
import type { PodInfo } from '../src/index.js';
import { startDaemon } from './daemon-helpers.js';
import {
  createManager,
  eventually,
  FIXTURE_RECIPES,
  onCleanup,
  pidOf,
  recordEvents,
  sleep,
  tempDir,
} from './helpers.js';

/**
 * Logs once at setup, answers with its pid after `sleep` seconds, or once the file `until` exists,
 * or after `ticks` progress reports `every` seconds apart; `die` ends the pod; `holdMB` is
 * allocated at setup.
 */
const POD = `
import os
import time

held = None


def setup(ctx):
    global held
    ctx.log(f"up as {os.getpid()}")
    held = b"x" * (int(ctx.config.get("holdMB", 0)) * 1024 * 1024)


def process(payload, ctx):
    if payload.get("die"):
        os._exit(3)
    if payload.get("until"):
        deadline = time.monotonic() + 60
        while not os.path.exists(payload["until"]) and time.monotonic() < deadline:
            time.sleep(0.01)
    for _ in range(payload.get("ticks", 0)):
        time.sleep(payload["every"])
        ctx.progress(0.5)
    time.sleep(payload.get("sleep", 0))
    return {"pid": os.getpid()}
`;

/** A folder with one recipe `name` running POD, with `fields` added to its recipe.json. */
function recipe(name: string, fields: Record<string, unknown>): string {
  const dir = tempDir();
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'pod.py'), POD);
  writeFileSync(
    join(dir, name, 'recipe.json'),
    JSON.stringify({ name, capability: name, entry: 'pod.py', ...fields }),
  );
  return dir;
}

type Reply = { pid: number };

/** `workers` callers, each making `calls` calls one after another (a closed loop, as clients do). */
async function closedLoop(call: () => Promise<unknown>, workers: number, calls: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = 0; i < calls; i++) replies.push((await call()) as Reply);
    }),
  );
  return replies;
}

/**
 * Every short call is answered (within `deadlineMs`) while the long one, held until the file `gate`
 * exists, still runs, and by another pod: none was sent behind it. Then the gate opens.
 */
async function expectNoneBehind(
  long: Promise<unknown>,
  shorts: Promise<unknown>[],
  gate: string,
  deadlineMs: number,
) {
  const answered = (await Promise.race([Promise.all(shorts), sleep(deadlineMs).then(() => undefined)])) as
    | Reply[]
    | undefined;
  writeFileSync(gate, '');
  const longReply = (await long) as Reply;
  await Promise.all(shorts);
  expect(answered, 'short calls answered while the long call ran').toBeDefined();
  expect(answered?.filter((reply) => reply.pid === longReply.pid)).toEqual([]);
}

const ready = (pods: PodInfo[]) => pods.filter((pod) => pod.state === 'ready');

describe('warm pools', () => {
  it('keeps a minWarm pod ready: the first call after a reclaim goes to a pod that was up before it', async () => {
    const manager = createManager({ recipePath: [recipe('warm1', { minWarm: 1 })] });
    const events = recordEvents(manager);
    // Started with the manager, before any call.
    expect(await eventually(async () => ready(await manager.list()).length === 1, 15_000)).toBe(true);
    const first = pidOf((await manager.list())[0]);
    // keepAlive 0 reclaims the pod after this reply (Ollama's keep_alive); the pool refills.
    expect(await manager.call('warm1', {}, { keepAlive: 0 })).toEqual({ pid: first });
    let refilled: PodInfo | undefined;
    expect(
      await eventually(async () => {
        refilled = ready(await manager.list()).find((pod) => pod.pid !== first);
        return refilled !== undefined;
      }, 15_000),
    ).toBe(true);
    expect(events.some((e) => e.event === 'pod.reclaimed' && e.recipe === 'warm1')).toBe(true);
    const spawnedBefore = events.filter((e) => e.event === 'pod.spawned').length;
    expect(manager.isWarm('warm1')).toBe(true);
    const seen: unknown[] = [];
    const reply = await manager.call('warm1', {}, { onEvent: (event) => seen.push(event) });
    expect(reply).toEqual({ pid: refilled?.pid });
    expect(events.filter((e) => e.event === 'pod.spawned')).toHaveLength(spawnedBefore); // no cold start
    expect(seen).toEqual([]); // nor any start progress
    // Without a call's keep-alive, the idle timer spares the warm pod.
    expect((await manager.list())[0]?.reclaimInSeconds).toBeNull();
  });

  it('forks the warm pods of a recipe with preload from its zygote, started with them', async () => {
    const dir = tempDir();
    cpSync(join(FIXTURE_RECIPES, 'warm'), join(dir, 'warm'), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'warm', 'recipe.json'), 'utf8')) as object;
    writeFileSync(join(dir, 'warm', 'recipe.json'), JSON.stringify({ ...manifest, minWarm: 1 }));
    const manager = createManager({ recipePath: [dir] });
    expect(await eventually(async () => ready(await manager.list()).length === 1, 15_000)).toBe(true);
    const answer = (await manager.call('warm', {})) as { pid: number; warmedIn: number | null };
    expect(answer.pid).toBe((await manager.list())[0]?.pid);
    expect(answer.warmedIn).toBe(await manager.startZygote('warm')); // the zygote already running
  });

  it('through the daemon: warm at its start, and the call after a reclaim is answered with no cold start', async () => {
    const daemon = await startDaemon({ env: { PODKEEPER_RECIPE_PATH: recipe('warm3', { minWarm: 1 }) } });
    const client = await connect({ socket: daemon.socket });
    onCleanup(() => client.close());
    const readyPids = async () =>
      (await client.pods()).filter((pod) => pod.state === 'ready').map((pod) => pod.pid);
    expect(await eventually(async () => (await readyPids()).length === 1, 15_000)).toBe(true);
    const [first] = await readyPids();
    expect(await client.call('warm3', {}, { keepAlive: 0 })).toEqual({ pid: first });
    expect(await eventually(async () => (await readyPids()).some((pid) => pid !== first), 15_000)).toBe(true);
    const [refilled] = await readyPids();
    const call = client.call('warm3', {});
    const seen: CallEvent[] = [];
    for await (const event of call) seen.push(event);
    expect(await call).toEqual({ pid: refilled });
    // A cold start would have told the caller `stage: "starting"` progress first (daemon-client.test.ts).
    expect(seen).toEqual([]);
  });

  it('starts the warm pods of a recipe installed later (reloadRecipes)', async () => {
    const dir = tempDir();
    const manager = createManager({ recipePath: [dir], builtinRecipes: false });
    expect(await manager.recipes()).toEqual([]);
    const added = recipe('late', { minWarm: 1 });
    cpSync(join(added, 'late'), join(dir, 'late'), { recursive: true });
    await manager.reloadRecipes();
    expect(await eventually(async () => ready(await manager.list()).length === 1, 15_000)).toBe(true);
  });

  it('does not start warm pools when warmPools is false', async () => {
    const recipePath = [recipe('warm2', { minWarm: 1 }), recipe('other', {})];
    const manager = createManager({ recipePath, warmPools: false });
    const events = recordEvents(manager);
    // A warm pod would have been spawned before this later one is ready.
    await manager.start('other');
    expect(events.filter((e) => e.event === 'pod.spawned').map((e) => e.recipe)).toEqual(['other']);
    expect(await manager.call('warm2', {})).toMatchObject({ pid: expect.any(Number) });
  });
});

describe('replicas', () => {
  it('starts a second replica when calls queue, spreads calls over both, and stops it when idle', async () => {
    const dir = recipe('rep', { replicas: { max: 2 }, minWarm: 1, idleTimeout: 1 });
    const manager = createManager({ recipePath: [dir] });
    expect(await eventually(async () => ready(await manager.list()).length === 1, 15_000)).toBe(true);
    const replies = await closedLoop(() => manager.call('rep', { sleep: 0.1 }), 4, 15);
    expect(new Set(replies.map((reply) => reply.pid)).size).toBe(2);
    const pods = await manager.list();
    expect(pods.map((pod) => pod.replica).sort()).toEqual([0, 1]);
    expect(pods.every((pod) => pod.calls > 0)).toBe(true);
    // The recipe's logs are every replica's, interleaved by time.
    const logs = await manager.logs({ target: 'rep' });
    expect(new Set(logs.map((line) => line.podId))).toEqual(new Set(pods.map((pod) => pod.id)));
    expect(logs.map((line) => line.time)).toEqual(logs.map((line) => line.time).sort((a, b) => a - b));
    // Idle: the idle timer stops the extra replica, down to minWarm, and spares the last one.
    expect(await eventually(async () => (await manager.list()).length === 1, 10_000)).toBe(true);
    expect((await manager.list())[0]?.reclaimInSeconds).toBeNull();
  });

  it('starts no replica that does not fit under the memory budget: calls queue on the running pod', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const dir = recipe('big', { replicas: { max: 2 }, config: { holdMB: 60 } });
    const manager = createManager({
      recipePath: [dir],
      maxMemoryMB: 120,
      logger: pino({ level: 'info' }, sink),
    });
    await manager.start('big');
    const calls = closedLoop(() => manager.call('big', { sleep: 0.05 }), 3, 6);
    expect(await eventually(() => lines.some((line) => line.includes('replica not started')), 10_000)).toBe(
      true,
    );
    expect(await manager.list()).toHaveLength(1);
    const replies = await calls;
    expect(replies).toHaveLength(18);
    expect(new Set(replies.map((reply) => reply.pid)).size).toBe(1);
  });

  it('a fair queue: calls wait for the first free replica, never behind a long call on a busy one', async () => {
    const dir = recipe('fair', { capability: 'fair-cap', replicas: { max: 2 }, minWarm: 2 });
    const manager = createManager({ recipePath: [dir] });
    expect(await eventually(async () => ready(await manager.list()).length === 2, 15_000)).toBe(true);
    const gate = join(tempDir(), 'open');
    const long = manager.call('fair', { until: gate }) as Promise<Reply>; // holds one replica until the gate opens
    expect(await eventually(async () => ready(await manager.list()).length === 1, 5000)).toBe(true);
    const shorts = Array.from(
      { length: 6 },
      (_, i) => manager.call(i % 2 === 0 ? 'fair' : 'fair-cap', { sleep: 0.02 }), // by name and by capability
    ) as Promise<Reply>[];
    await expectNoneBehind(long, shorts, gate, 8000);
  });

  it('a fair queue from a cold start: calls wait for the pods on their way, not behind the first call', async () => {
    const manager = createManager({ recipePath: [recipe('cold', { replicas: { max: 2 } })] });
    const gate = join(tempDir(), 'open');
    const long = manager.call('cold', { until: gate }) as Promise<Reply>;
    const shorts = Array.from({ length: 4 }, () => manager.call('cold', { sleep: 0.02 })) as Promise<Reply>[];
    await expectNoneBehind(long, shorts, gate, 20_000);
  });

  it('a call that waited for a free replica gets its whole timeout once sent', async () => {
    const manager = createManager({ recipePath: [recipe('tick', { replicas: { max: 2 }, minWarm: 2 })] });
    expect(await eventually(async () => ready(await manager.list()).length === 2, 15_000)).toBe(true);
    const gates = [join(tempDir(), 'one'), join(tempDir(), 'two')];
    const held = gates.map((gate) => manager.call('tick', { until: gate }));
    expect(await eventually(async () => ready(await manager.list()).length === 0, 5000)).toBe(true);
    // Its timeout is 1 s of no progress; it waits 0.6 s for a replica (the wait is what is tested),
    // then reports progress every 0.5 s: after 0.6 s spent, less than 0.5 s would be left.
    const ticking = manager.call('tick', { ticks: 3, every: 0.5 }, { timeout: 1 });
    await sleep(600);
    writeFileSync(gates[0] as string, '');
    await expect(ticking).resolves.toMatchObject({ pid: expect.any(Number) });
    writeFileSync(gates[1] as string, '');
    await Promise.all(held);
  });

  it('a crash of one replica fails no call on the other, and the pool refills', async () => {
    const manager = createManager({ recipePath: [recipe('pair', { replicas: { max: 2 }, minWarm: 2 })] });
    expect(await eventually(async () => ready(await manager.list()).length === 2, 15_000)).toBe(true);
    const slow = manager.call('pair', { sleep: 1 }); // on one replica…
    const die = manager.call('pair', { die: true }).catch((error: unknown) => error); // …the other dies
    const survivor = (await slow) as Reply;
    expect(await die).toMatchObject({ code: 'POD_CRASHED' });
    expect(await manager.call('pair', {})).toEqual({ pid: survivor.pid });
    expect(await eventually(async () => ready(await manager.list()).length === 2, 15_000)).toBe(true);
    const pods = await manager.list();
    expect(pods.map((pod) => pod.replica).sort()).toEqual([0, 1]);
    expect(pods.map((pod) => pod.pid)).toContain(survivor.pid);
  });
});
