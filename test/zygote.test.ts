/**
 * Zygotes with real processes: a recipe with `preload` gets a zygote that forks its pods, and a
 * forked pod behaves as a normally started one (answers, crash facts, stop and kill of its whole
 * tree); a killed zygote means a normal start and a new zygote; a thread in the zygote means a clear
 * error and a normal start; nothing is left behind. numpy in a forked pod needs the package
 * registry: test/online/zygote-numpy.online.ts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_RECIPES_DIR } from '../src/paths.js';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import {
  createManager,
  eventually,
  FIXTURE_RECIPES,
  isAlive,
  onCleanup,
  ourProcesses,
  pidOf,
  recordEvents,
  tempDir,
} from './helpers.js';
import { commandLine } from './processes.js';

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        return parentOf(Number(name)) === pid ? [Number(name)] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

interface WarmAnswer {
  pid: number;
  warmedIn: number | null;
  /** Every process the preload's os.register_at_fork hook ran in (none in a normal start). */
  hookedIn: number[];
  random: number;
  /** From the numpy.random stand-in: a generator Python does not reseed after a fork. */
  numpyRandom: number;
  descendants: number[];
  podId: string;
}

const modes = [
  { mode: 'forked from the zygote', zygotes: true },
  { mode: 'started normally', zygotes: false },
] as const;

/** A manager whose `warm` pods fork from a ready zygote (or, with zygotes off, start normally). */
async function warmManager(zygotes: boolean, options: Parameters<typeof createManager>[0] = {}) {
  const manager = createManager({ zygotes, ...options });
  const zygote = await manager.startZygote('warm');
  expect(zygote === undefined).toBe(!zygotes);
  return { manager, zygote };
}

function logLines(events: ReturnType<typeof recordEvents>): string[] {
  return events.flatMap((e) => (e.event === 'pod.log' ? [e.message] : []));
}

describe('a recipe with preload', () => {
  it('gets a zygote; its pods fork from it, answer, and are not the zygote', async () => {
    const { manager, zygote } = await warmManager(true);
    const first = (await manager.call('warm', {})) as WarmAnswer;
    expect(first.warmedIn).toBe(zygote); // warm_lib.preload() ran in the zygote, not in the pod
    expect(first.pid).not.toBe(zygote);
    // a preload's after-fork hooks run in the pod itself, not in its guardian (forked without them)
    expect(first.hookedIn).toEqual([first.pid]);
    expect(first.podId).toBe('warm-1'); // the pod's own environment, not the zygote's
    const [info] = await manager.list();
    expect(info).toMatchObject({ pid: first.pid, state: 'ready' });
    expect(info?.rssMB).toBeGreaterThan(0);
    await manager.stop({ target: 'warm' });
    const second = (await manager.call('warm', {})) as WarmAnswer;
    expect(second.warmedIn).toBe(zygote);
    expect(second.pid).not.toBe(first.pid);
    // Python reseeds `random` after a fork by itself; numpy's global generator is renewed by us.
    expect(second.random).not.toBe(first.random);
    expect(second.numpyRandom).not.toBe(first.numpyRandom);
    expect(second.podId).toBe('warm-2'); // told to the spare stand-in taken for it
    expect(await manager.memory()).toMatchObject({ usedMB: expect.any(Number) });
  });

  it('the first pod starts normally while the zygote starts in the background', async () => {
    const manager = createManager();
    const first = (await manager.call('warm', {})) as WarmAnswer;
    expect(first.warmedIn).toBeNull();
    const zygote = await manager.startZygote('warm'); // the one the first spawn started
    expect(zygote).toEqual(expect.any(Number));
    await manager.stop({ target: 'warm' });
    expect(((await manager.call('warm', {})) as WarmAnswer).warmedIn).toBe(zygote);
  });

  for (const { mode, zygotes } of modes) {
    describe(mode, () => {
      it('a crash gives POD_CRASHED with the signal; an exit, its code and stderr', async () => {
        const { manager } = await warmManager(zygotes, { restart: { backoffBase: 0 } });
        const crash = await manager.call('warm', { do: 'crash' }).catch((e: unknown) => e);
        expect(crash).toMatchObject({ code: 'POD_CRASHED', details: { signal: 'SIGABRT', exitCode: null } });
        const exit = await manager.call('warm', { do: 'exit' }).catch((e: unknown) => e);
        expect(exit).toMatchObject({ code: 'POD_CRASHED', details: { exitCode: 7, signal: null } });
        expect((exit as Error).message).toContain('leaving with 7');
        const again = (await manager.call('warm', {})) as WarmAnswer;
        expect(again.warmedIn === null).toBe(!zygotes);
      });

      it('a stop ends its whole tree, a setsid() escapee included', async () => {
        const { manager } = await warmManager(zygotes);
        const { pid, descendants } = (await manager.call('warm', { do: 'descendants' })) as WarmAnswer;
        expect([pid, ...descendants].every(isAlive)).toBe(true);
        await manager.stop({ target: 'warm' });
        expect(await eventually(() => ![pid, ...descendants].some(isAlive), 3000)).toBe(true);
      });

      it('a pod killed for a timeout takes its tree along, and the next one answers', async () => {
        const { manager } = await warmManager(zygotes, { cancelGrace: 0.3 });
        const events = recordEvents(manager);
        const { descendants } = (await manager.call('warm', { do: 'descendants' })) as WarmAnswer;
        const [before] = await manager.list();
        const error = await manager.call('warm', { do: 'hang' }, { timeout: 0.3 }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'TIMEOUT' });
        const respawned = () => events.some((e) => e.event === 'pod.ready' && e.podId !== before?.id);
        expect(await eventually(respawned, 5000)).toBe(true);
        expect(events.find((e) => e.event === 'pod.crashed')).toMatchObject({ reason: 'killed' });
        expect(await eventually(() => ![before?.pid ?? 0, ...descendants].some(isAlive), 5000)).toBe(true);
        const after = (await manager.call('warm', {})) as WarmAnswer;
        expect(after.pid).not.toBe(before?.pid);
        expect(after.warmedIn === null).toBe(!zygotes);
      });
    });
  }

  it("a forked pod's crash facts equal a normally started one's", async () => {
    const facts = async (zygotes: boolean) => {
      const { manager } = await warmManager(zygotes, { restart: { backoffBase: 0 } });
      const events = recordEvents(manager);
      for (const input of [{ do: 'crash' }, { do: 'exit' }])
        await manager.call('warm', input).catch(() => undefined);
      await manager.close();
      return events.flatMap((e) =>
        e.event === 'pod.crashed'
          ? [{ reason: e.reason, exitCode: e.exitCode, signal: e.signal, stderr: e.stderrTail }]
          : [],
      );
    };
    const forked = await facts(true);
    expect(forked).toHaveLength(2);
    expect(forked).toEqual(await facts(false));
  });

  it('no process of the daemon stands in for a forked pod: its pid is the guardian the zygote forked', async () => {
    const { manager, zygote } = await warmManager(true);
    const events = recordEvents(manager);
    const { pid: runner, warmedIn } = (await manager.call('warm', {})) as WarmAnswer;
    expect(warmedIn).toBe(zygote);
    const spawned = events.find((e) => e.event === 'pod.spawned')?.pid;
    expect(parentOf(runner)).toBe(spawned); // the runner's guardian, whose group the daemon signals
    expect(parentOf(spawned ?? 0)).toBe(zygote); // forked by the zygote, not spawned by the daemon
    expect(childrenOf(process.pid)).not.toContain(spawned);
  });

  it("removes the socket folder a dead manager left behind, and keeps a live one's", async () => {
    const folder = (pid: number | undefined) => {
      const dir = mkdtempSync(join(tmpdir(), `podkeeper-zygotes-${pid}-`));
      onCleanup(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, '0-x.sock'), '');
      return dir;
    };
    const gone = spawnSync('true').pid; // a manager killed with SIGKILL: its pid is no one's now
    expect(isAlive(gone)).toBe(false);
    const stale = folder(gone);
    const live = folder(process.pid);
    await warmManager(true);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('a killed zygote: the next pod starts normally, and a new zygote serves the one after', async () => {
    const { manager, zygote } = await warmManager(true);
    const events = recordEvents(manager);
    const first = (await manager.call('warm', {})) as WarmAnswer;
    process.kill(pidOf({ pid: zygote }), 'SIGKILL');
    expect(await eventually(() => !isAlive(zygote), 3000)).toBe(true);
    expect(((await manager.call('warm', {})) as WarmAnswer).pid).toBe(first.pid); // its pods live on
    await manager.stop({ target: 'warm' });
    const fallback = (await manager.call('warm', {})) as WarmAnswer;
    expect(fallback.warmedIn).toBeNull();
    const restarted = await manager.startZygote('warm');
    expect(restarted).toEqual(expect.any(Number));
    expect(restarted).not.toBe(zygote);
    await manager.stop({ target: 'warm' });
    expect(((await manager.call('warm', {})) as WarmAnswer).warmedIn).toBe(restarted);
    expect(events.some((e) => e.event === 'pod.crashed')).toBe(false);
  });

  it('a thread running in the zygote: ZYGOTE_THREADS in the pod log, and a normal start', async () => {
    const manager = createManager();
    const events = recordEvents(manager);
    expect(await manager.startZygote('warm-thread')).toEqual(expect.any(Number));
    const answer = (await manager.call('warm-thread', {})) as { threads: number };
    expect(answer.threads).toBe(1); // the spinner thread was never started here: not forked
    const refused = /ZYGOTE_THREADS: .*1 Python thread.*; starting the pod without it/;
    expect(await eventually(() => logLines(events).some((line) => refused.test(line)))).toBe(true);
  });

  it('a zygote whose forked pods die of a signal before ready is retired once a normal start works', async () => {
    const manager = createManager({ restart: { backoffBase: 0 } });
    const events = recordEvents(manager);
    expect(await manager.startZygote('warm-abort')).toEqual(expect.any(Number));
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 5 && outcomes.at(-1) !== 'ok'; attempt++) {
      const answer = await manager.call('warm-abort', {}).then(
        () => 'ok',
        (error: { code: string }) => error.code,
      );
      outcomes.push(answer);
    }
    expect(outcomes).toEqual(['POD_CRASHED', 'POD_CRASHED', 'POD_CRASHED', 'ok']);
    expect(events.filter((e) => e.event === 'pod.crashed')).toHaveLength(3);
    expect(await manager.startZygote('warm-abort')).toBeUndefined(); // retired
  });

  it("under memory pressure the budget evicts an idle pod, not the recipe's own zygote", async () => {
    const recipes = tempDir();
    cpSync(join(FIXTURE_RECIPES, 'warm'), join(recipes, 'warm'), { recursive: true });
    const recipe = JSON.parse(readFileSync(join(recipes, 'warm', 'recipe.json'), 'utf8')) as object;
    writeFileSync(join(recipes, 'warm', 'recipe.json'), JSON.stringify({ ...recipe, memoryMB: 40 }));
    const manager = createManager({ recipePath: [recipes, FIXTURE_RECIPES], maxMemoryMB: 60 });
    const events = recordEvents(manager);
    const zygote = await manager.startZygote('warm');
    await manager.call('echo', { text: 'hi' });
    const { usedMB } = await manager.memory();
    expect(usedMB ?? 0, 'the zygote and the idle echo pod leave no room for 40 MB').toBeGreaterThan(20);
    const answer = (await manager.call('warm', {})) as WarmAnswer;
    expect(answer.warmedIn).toBe(zygote); // forked: its zygote was kept
    expect(await manager.startZygote('warm')).toBe(zygote);
    expect(events.filter((e) => e.event === 'pod.evicted').map((e) => e.recipe)).toEqual(['echo']);
  });

  it('idleTimeout 0 stops each pod after its reply but keeps the zygote that restarts it fast', async () => {
    const { manager, zygote } = await warmManager(true, { idleTimeout: 0 });
    const first = (await manager.call('warm', {})) as WarmAnswer;
    expect(await eventually(() => !isAlive(first.pid))).toBe(true); // stopped after its reply
    const second = (await manager.call('warm', {})) as WarmAnswer;
    expect(second.warmedIn).toBe(zygote);
    expect(await manager.startZygote('warm')).toBe(zygote);
  });

  it('pods whose setup() fails are not strikes: the zygote is kept', async () => {
    const recipes = tempDir();
    cpSync(join(FIXTURE_RECIPES, 'warm'), join(recipes, 'failing-setup'), { recursive: true });
    writeFileSync(
      join(recipes, 'failing-setup', 'recipe.json'),
      JSON.stringify({
        name: 'failing-setup',
        capability: 'x',
        entry: 'pod.py',
        preload: ['warm_lib:preload'],
      }),
    );
    writeFileSync(
      join(recipes, 'failing-setup', 'pod.py'),
      'def setup(ctx):\n    raise RuntimeError("no model")\n',
    );
    const manager = createManager({ recipePath: [recipes], restart: { backoffBase: 0 } });
    const zygote = await manager.startZygote('failing-setup');
    expect(zygote).toEqual(expect.any(Number));
    for (let attempt = 0; attempt < 4; attempt++)
      await expect(manager.call('failing-setup', {})).rejects.toMatchObject({ code: expect.any(String) });
    expect(await manager.startZygote('failing-setup')).toBe(zygote); // not retired
  });

  it("a recipe installed (found on reload) gets its zygote, and a removed one's stops", async () => {
    const recipes = tempDir();
    const manager = createManager({ recipePath: [recipes], builtinRecipes: false });
    expect(await manager.recipes()).toEqual([]);
    cpSync(join(FIXTURE_RECIPES, 'warm'), join(recipes, 'warm'), { recursive: true });
    const zygoteOf = () => ourProcesses().find((pid) => commandLine(pid)?.includes('podkeeper_pod.zygote'));
    expect(zygoteOf()).toBeUndefined();
    await manager.reloadRecipes();
    expect(await eventually(() => zygoteOf() !== undefined, 5000)).toBe(true);
    const zygote = await manager.startZygote('warm');
    expect(zygote).toBe(zygoteOf());
    expect(ourProcesses()).toContain(zygote); // and its spare stand-in
    rmSync(join(recipes, 'warm'), { recursive: true });
    await manager.reloadRecipes(); // removed: its zygote stops
    expect(await eventually(() => ourProcesses().length === 0, 3000)).toBe(true);
  });

  it('counts in the memory budget by its private memory, and is stopped first to make room', async () => {
    const recipes = tempDir();
    cpSync(join(FIXTURE_RECIPES, 'warm'), join(recipes, 'warm'), { recursive: true });
    cpSync(join(BUILTIN_RECIPES_DIR, 'echo'), join(recipes, 'big'), { recursive: true });
    const big = JSON.parse(readFileSync(join(recipes, 'big', 'recipe.json'), 'utf8'));
    writeFileSync(
      join(recipes, 'big', 'recipe.json'),
      JSON.stringify({ ...big, name: 'big', capability: 'big', memoryMB: 100 }),
    );
    const manager = createManager({ recipePath: [recipes], builtinRecipes: false, maxMemoryMB: 101 });
    const zygote = await manager.startZygote('warm');
    const { usedMB } = await manager.memory();
    expect(usedMB).toBeGreaterThan(1); // the zygote alone, no pod
    expect(usedMB).toBeLessThan(60); // its private pages, not the interpreter's shared ones twice
    await manager.call('big', { text: 'room' });
    expect(await eventually(() => !isAlive(zygote ?? 0), 3000)).toBe(true);
  });

  it('closing the manager stops zygotes and pods and leaves no process or socket', async () => {
    const { manager } = await warmManager(true);
    await manager.call('warm', { do: 'descendants' });
    const zygote = await manager.startZygote('warm');
    const socket =
      commandLine(pidOf({ pid: zygote }))
        ?.split(' ')
        .find((arg) => arg.endsWith('.sock')) ?? '';
    expect(socket.endsWith('.sock') && existsSync(socket)).toBe(true);
    await manager.close();
    expect(await eventually(() => ourProcesses().length === 0, 3000)).toBe(true);
    expect(existsSync(socket)).toBe(false);
  });
});

describe('a daemon killed with SIGKILL', () => {
  it('leaves no forked pod, nor its descendants, nor the zygote', async () => {
    const daemon = await startDaemon();
    const client = await rawConnect(daemon.socket);
    const call = async (id: string, input: object) => {
      client.send({ id, action: 'call', payload: { target: 'warm', input } });
      return ((await client.answer(id, 20_000)) as { result: WarmAnswer }).result;
    };
    await call('first', {}); // started normally; the zygote starts in the background
    let answer: WarmAnswer | undefined;
    let round = 0;
    const forked = await eventually(async () => {
      round += 1;
      client.send({ id: `stop-${round}`, action: 'pods.stop', payload: { target: 'warm' } });
      await client.answer(`stop-${round}`);
      answer = await call(`again-${round}`, { do: 'descendants' });
      return answer.warmedIn !== null;
    }, 15_000);
    expect(forked).toBe(true);
    const pids = [answer?.pid ?? 0, ...(answer?.descendants ?? []), answer?.warmedIn ?? 0];
    expect(pids.every(isAlive)).toBe(true);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    expect(await eventually(() => !pids.some(isAlive) && ourProcesses().length === 0, 3000)).toBe(true);
  });
});

describe('a zygote in the memory budget', () => {
  it('counts by its resident pages, which its spare and forked pods share', async () => {
    // 48 MB the zygote allocates in its preload: its spare pod and every pod it forks share them,
    // so they are no process's private pages; the budget must still count them, once.
    const recipes = tempDir();
    cpSync(join(FIXTURE_RECIPES, 'warm'), join(recipes, 'ballast'), { recursive: true });
    const warm = JSON.parse(readFileSync(join(recipes, 'ballast', 'recipe.json'), 'utf8'));
    writeFileSync(
      join(recipes, 'ballast', 'ballast.py'),
      'BALLAST = bytearray(48 * 1024 * 1024)\nBALLAST[::4096] = b"x" * len(range(0, len(BALLAST), 4096))\n',
    );
    writeFileSync(
      join(recipes, 'ballast', 'recipe.json'),
      JSON.stringify({
        ...warm,
        name: 'ballast',
        capability: 'ballast',
        preload: [...warm.preload, 'ballast'],
      }),
    );
    const manager = createManager({ recipePath: [recipes], builtinRecipes: false });
    const zygote = await manager.startZygote('ballast');
    expect(((await manager.call('ballast', {})) as WarmAnswer).warmedIn).toBe(zygote);
    const { usedMB } = await manager.memory();
    expect(usedMB).toBeGreaterThan(48);
  });
});
