/**
 * The launcher seam's pure logic, with an in-memory launcher (no process): a coded failure a
 * launcher's process reports becomes the pod's error (REMOTE_LOST…), a bridge's lines are read, the
 * budget counts a remote pod as its bridge, and the placement map is checked. The real processes
 * are in test/ray (Ray) and command-launcher.test.ts (a wrapper command).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isPodkeeperError, PodkeeperError } from '../../src/errors.js';
import { parseBridgeLine } from '../../src/launch/bridge-process.js';
import { BRIDGE_ESTIMATE_MB, Launchers } from '../../src/launch/launchers.js';
import type { Launcher, Locality } from '../../src/launch/types.js';
import { MemoryBudget } from '../../src/manager/memory-budget.js';
import { resolveOptions } from '../../src/manager/options.js';
import { Pod } from '../../src/pod/pod.js';
import type { PodProcess, PodSignal, ProcessExit, Where } from '../../src/pod/spawn.js';
import { POD_PROTOCOL_VERSION } from '../../src/protocol/pod.js';

/** A process that is only streams: the test writes the pod's lines and decides how it ends. */
function memoryProcess(where: Where) {
  const stdout = new PassThrough();
  let end!: (exit: ProcessExit) => void;
  const exited = new Promise<ProcessExit>((resolve) => {
    end = resolve;
  });
  const signals: PodSignal[] = [];
  const process: PodProcess = {
    pid: 4242,
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    exited,
    where,
    signal: (signal) => {
      signals.push(signal);
      return true;
    },
  };
  const say = (line: unknown) => stdout.write(`${JSON.stringify(line)}\n`);
  const finish = (exit: ProcessExit) => {
    stdout.end();
    (process.stderr as PassThrough).end();
    end(exit);
  };
  return { process, say, finish, signals };
}

const READY = {
  type: 'ready',
  capability: 'm',
  backend: 'python',
  memoryMB: 8000,
  pid: 7,
  protocol: POD_PROTOCOL_VERSION,
  actions: ['process'],
  python: '3.11.7',
};

function memoryLauncher(name: string, locality: Locality): Launcher {
  return {
    name,
    locality,
    prepare: async (loaded) => ({ loaded }),
    start: () => memoryProcess({ launcher: name, locality }).process,
  };
}

describe('a launcher process that says why it ended', () => {
  it("fails the pod's requests with the launcher's code and the pod's facts", async () => {
    const fake = memoryProcess({ launcher: 'gpu', locality: 'remote', placing: true });
    const pod = new Pod({ id: 'm-1', recipe: 'm', capability: 'm', process: fake.process });
    expect(pod.where).toMatchObject({ launcher: 'gpu', placing: true });
    fake.say(READY);
    await pod.whenReady();
    const pending = pod.request('process', {});
    const lost = new PodkeeperError('REMOTE_LOST', "the pod's node or Ray worker was lost: node died");
    fake.finish({ exitCode: 70, signal: null, failure: lost });
    const error = await pending.catch((caught: unknown) => caught);
    expect(isPodkeeperError(error, 'REMOTE_LOST')).toBe(true);
    expect((error as PodkeeperError).message).toMatch(/^Pod m-1 \(recipe "m"\): the pod's node .* was lost/);
    expect((error as PodkeeperError).details).toMatchObject({ podId: 'm-1', exitCode: 70 });
    expect((await pod.exited).error.code).toBe('REMOTE_LOST');
  });

  it('a stopped pod is stopped, whatever its process said', async () => {
    const fake = memoryProcess({ launcher: 'gpu', locality: 'remote' });
    const pod = new Pod({ id: 'm-2', recipe: 'm', capability: 'm', process: fake.process, stopGraceMs: 100 });
    fake.say(READY);
    await pod.whenReady();
    const stopped = pod.stop();
    fake.finish({ exitCode: 70, signal: null, failure: new PodkeeperError('REMOTE_LOST', 'gone') });
    expect((await stopped).reason).toBe('stopped');
    expect((await stopped).error.code).toBe('SHUTTING_DOWN');
  });

  it('is killed through its handle: the tree first (SIGUSR1), what is left after', async () => {
    const fake = memoryProcess({ launcher: 'gpu', locality: 'remote' });
    const pod = new Pod({ id: 'm-3', recipe: 'm', capability: 'm', process: fake.process });
    fake.say(READY);
    await pod.whenReady();
    const killed = pod.kill('killed', 'by the test');
    expect(fake.signals).toEqual(['SIGUSR1']);
    fake.finish({ exitCode: null, signal: 'SIGKILL' });
    await killed;
    expect(fake.signals).toEqual(['SIGUSR1', 'SIGKILL']);
  });
});

describe("a bridge's own stderr lines", () => {
  it('reads where the pod was placed and the coded failure; a plain note is not one', () => {
    expect(parseBridgeLine('placed {"node": "abc", "host": "10.0.0.7", "pid": 5}')).toEqual({
      kind: 'placed',
      node: 'abc',
      host: '10.0.0.7',
    });
    const failure = parseBridgeLine('failure {"code": "NO_CAPACITY", "message": "it asked for gpu_host=1"}');
    expect(failure?.kind === 'failure' && failure.error.code).toBe('NO_CAPACITY');
    const strange = parseBridgeLine('failure {"code": "MADE_UP", "message": "?"}');
    expect(strange?.kind === 'failure' && strange.error).toMatchObject({
      code: 'POD_CRASHED',
      details: { bridgeCode: 'MADE_UP' },
    });
    expect(parseBridgeLine('input relay stopped: broken pipe')).toBeUndefined();
    expect(parseBridgeLine('failure {not json')).toBeUndefined();
  });
});

describe('placement and the memory budget', () => {
  const launchers = () =>
    new Launchers(memoryLauncher('local', 'local'), [memoryLauncher('gpu', 'remote')], {
      'big-model': 'gpu',
    });

  it('serves a placed recipe from its launcher, every other one locally', () => {
    const placed = launchers();
    expect(placed.for('big-model').name).toBe('gpu');
    expect(placed.for('echo').name).toBe('local');
    expect(placed.isRemote('big-model')).toBe(true);
  });

  it('counts a remote pod as its bridge: an 8 GB remote model does not block a 1 GB budget', async () => {
    const placed = launchers();
    const budget = new MemoryBudget(
      1000,
      0,
      {
        rssOfTrees: async () => new Map(),
        privateOfTrees: async () => new Map(),
        privateOfProcesses: async () => new Map(),
        residentOfProcesses: async () => new Map(),
      },
      {
        livePods: () => [],
        estimateMB: (recipe) => placed.localEstimateMB(recipe, 8000),
        evict: async () => undefined,
      },
    );
    expect(placed.localEstimateMB('big-model', 8000)).toBe(BRIDGE_ESTIMATE_MB);
    await expect(budget.reserve('big-model', () => 'spawned')).resolves.toBe('spawned');
    // The same model placed here is too big for this budget.
    await expect(budget.reserve('local-model', () => 'spawned')).rejects.toMatchObject({ code: 'NO_MEMORY' });
  });

  it('refuses a placement naming a launcher that is not defined, and says which are', () => {
    expect(() => new Launchers(memoryLauncher('local', 'local'), [], { whisper: 'gpu' })).toThrow(
      /placement sends recipe "whisper" to launcher "gpu", which `launchers` does not define \(defined: none\)/,
    );
  });
});

describe('the manager options', () => {
  it('refuse a placement naming no launcher when the manager is built, and a launcher called local', () => {
    expect(() => resolveOptions({ placement: { whisper: 'gpu' } })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTION',
        details: { field: 'placement.whisper', received: 'gpu' },
      }),
    );
    expect(() => resolveOptions({ launchers: { local: { kind: 'command', argv: ['ssh', 'box'] } } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });
});
