/**
 * Pods on Ray, through the real daemon: a three-node cluster on 127.0.0.1 (test/ray/cluster.py),
 * recipes placed on it by resources, and the sharp edges of issue 15: chunks in order, cancel,
 * resources freed within 1 s by an idle reclaim and by a SIGKILLed bridge, a lost node ends in
 * REMOTE_LOST with nothing left on it, an impossible placement in NO_CAPACITY, dependencies built on
 * the node from a local wheelhouse, and a secret that never reaches Ray's state or logs.
 * The raylet test kills the `gpu` node: it runs last.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallEvent, connect, isPodkeeperError, type PodkeeperClient } from '../../src/client/index.js';
import { RAY_VERSION } from '../../src/launch/config.js';
import { startDaemon, type TestDaemon } from '../daemon-helpers.js';
import { fileTempDir, makeWheels } from '../fixtures/env/helpers.js';
import { eventually, isAlive, onCleanup, RUN_MARKER, tempDir } from '../helpers.js';
import { filesHolding, type RayCluster, rayWorkers, startCluster } from './ray-helpers.js';

const SECRET = `pk_SeCrEt_${RUN_MARKER.slice(-12)}`;

const POD = `import os, time

def process(payload, ctx):
    if payload.get("wait"):
        while not ctx.cancelled:
            time.sleep(0.01)
        return {"cancelled": True}
    return {"echo": payload, "pid": os.getpid(), "sawSecret": os.environ.get("PK_TEST_TOKEN") == payload.get("expect")}
`;
const STREAM = `def process(payload, ctx):
    for index in range(payload["n"]):
        yield {"index": index}
`;
const DEPS = `import pk_alpha

def process(payload, ctx):
    return {"alpha": pk_alpha.__version__}
`;

let cluster: RayCluster;
let recipes: string;
let wheelhouse: string;

// Made while the file is collected, so that their afterAll runs (not from beforeAll: see fileTempDir).
const root = fileTempDir('pk-ray-recipes-');
const wheels = fileTempDir('pk-ray-wheels-');

beforeAll(async () => {
  cluster = await startCluster();
  wheelhouse = makeWheels(wheels, [{ name: 'pk-alpha', version: '1.0.0' }]);
  const recipe = (name: string, source: string, fields: Record<string, unknown> = {}) => {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'pod.py'), source);
    writeFileSync(
      join(root, name, 'recipe.json'),
      JSON.stringify({ name, capability: name, entry: 'pod.py', ...fields }),
    );
  };
  recipe('remote-echo', POD, { passEnv: ['PK_TEST_TOKEN'] });
  // A vendored old copy of the runner in the recipe's folder (the pod's working directory on the
  // node): the actor's runner must never import it.
  for (const name of ['podkeeper_pod', 'podkeeper_ray']) {
    mkdirSync(join(root, 'remote-echo', name));
    writeFileSync(
      join(root, 'remote-echo', name, '__init__.py'),
      `raise SystemExit("the recipe's own ${name}")\n`,
    );
  }
  recipe('remote-other', POD);
  recipe('remote-stream', STREAM);
  recipe('remote-deps', DEPS, { dependencies: ['pk-alpha==1.0.0'] });
  recipe('nowhere', POD);
  recipes = root;
});

afterAll(async () => {
  await cluster?.stop();
});

async function daemonOnRay(
  options: { toolEnv?: boolean } = {},
): Promise<{ daemon: TestDaemon; client: PodkeeperClient }> {
  const gpu = {
    kind: 'ray',
    address: cluster.address,
    resources: { gpu_host: 1 },
    // Without `python`, the daemon installs ray into its home's tool env on first use.
    ...(options.toolEnv ? {} : { python: cluster.python }),
    placementTimeout: 60,
    wheelhouse,
  };
  const home = tempDir('pk-home-');
  const config = {
    builtinRecipes: false,
    // What every pod gets, remote ones too: the marker that finds a process left behind.
    env: { PODKEEPER_TEST_RUN: RUN_MARKER },
    launchers: { gpu, none: { ...gpu, resources: { no_such_thing: 1 }, placementTimeout: 3 } },
    placement: {
      'remote-echo': 'gpu',
      'remote-other': 'gpu',
      'remote-stream': 'gpu',
      'remote-deps': 'gpu',
      nowhere: 'none',
    },
  };
  // It sets `env`: the daemon wants it readable by its owner only.
  writeFileSync(join(home, 'config.json'), JSON.stringify(config), { mode: 0o600 });
  const daemon = await startDaemon({
    home,
    env: { ...cluster.env, PK_TEST_TOKEN: SECRET, PODKEEPER_RECIPE_PATH: recipes },
  });
  const client = await connect({ socket: daemon.socket });
  onCleanup(() => client.close());
  return { daemon, client };
}

const gpuNode = () => cluster.nodes.find((node) => node.name === 'gpu');

/** The parent pid of `pid` (from /proc). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Pids of live bridge processes of this run (their environment holds the run marker). */
function bridges(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
        return cmdline.includes('podkeeper_ray.bridge') && isAlive(pid);
      } catch {
        return false;
      }
    });
}

describe('pods on Ray', () => {
  it("a recipe placed by resources answers from the node that has them (its folder's podkeeper_pod never stands in for the runner); ps says where", async () => {
    const { client } = await daemonOnRay();
    const answer = (await client.call('remote-echo', { text: 'hi', expect: SECRET })) as {
      echo: unknown;
      pid: number;
      sawSecret: boolean;
    };
    expect(answer.echo).toEqual({ text: 'hi', expect: SECRET });
    expect(answer.sawSecret).toBe(true);
    // runner ─▶ guardian ─▶ the actor's worker ─▶ the gpu node's raylet
    expect(parentOf(parentOf(parentOf(answer.pid)))).toBe(gpuNode()?.raylet);
    const [pod] = await client.pods();
    expect(pod).toMatchObject({
      recipe: 'remote-echo',
      state: 'ready',
      where: { launcher: 'gpu', locality: 'remote', node: gpuNode()?.nodeId, host: '127.0.0.1' },
    });
  });

  it('streams chunks in order', async () => {
    const { client } = await daemonOnRay();
    const call = client.call('remote-stream', { n: 200 });
    const chunks: unknown[] = [];
    for await (const event of call as AsyncIterable<CallEvent>)
      if (event.type === 'chunk') chunks.push(event.data);
    await call;
    expect(chunks).toEqual(Array.from({ length: 200 }, (_, index) => ({ index })));
  });

  it('answers 2000 pipelined calls (40 at a time), each with its own payload', async () => {
    // Found by the bench: the actor's read loop spun without yielding once a wake-up came for data
    // an earlier read had taken, and the pod stopped answering mid-run.
    const { client } = await daemonOnRay();
    const lane = async (lane: number) => {
      const echoed: unknown[] = [];
      for (let i = 0; i < 50; i += 1)
        echoed.push(((await client.call('remote-echo', { lane, i })) as { echo: unknown }).echo);
      return echoed;
    };
    const lanes = await Promise.all(Array.from({ length: 40 }, (_, index) => lane(index)));
    lanes.forEach((echoed, lane) => {
      expect(echoed).toEqual(Array.from({ length: 50 }, (_, i) => ({ lane, i })));
    });
  });

  it('cancels a running request; the pod goes on serving', async () => {
    const { client } = await daemonOnRay();
    await client.call('remote-echo', {});
    const abort = new AbortController();
    const waiting = client.call('remote-echo', { wait: true }, { signal: abort.signal });
    await waitFor(async () => (await client.pods())[0]?.inFlight === 1);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await client.call('remote-echo', { again: 1 })).toMatchObject({ echo: { again: 1 } });
  });

  it('an idle reclaim frees the remote resource within 1 s', async () => {
    const { client } = await daemonOnRay();
    const events = await client.subscribe({ events: ['pod.stopped'] });
    const answer = (await client.call('remote-echo', {}, { keepAlive: 0 })) as { pid: number };
    for await (const _ of events) break;
    const stoppedAt = Date.now();
    expect(await eventually(() => rayWorkers('PodActor').length === 0 && !isAlive(answer.pid), 1000)).toBe(
      true,
    );
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(1000);
  });

  it('a SIGKILLed bridge frees the remote resource within 1 s', async () => {
    const { client } = await daemonOnRay();
    const answer = (await client.call('remote-echo', {})) as { pid: number };
    const [bridge] = bridges();
    expect(bridge).toBeDefined();
    process.kill(bridge as number, 'SIGKILL');
    expect(await eventually(() => rayWorkers('PodActor').length === 0, 1000)).toBe(true);
    // The runner's guardian saw its parent die: SIGTERM, then SIGKILL after its 1 s grace.
    expect(await eventually(() => !isAlive(answer.pid), 3000)).toBe(true);
  });

  it('an impossible placement ends in NO_CAPACITY naming what was asked', async () => {
    const { client } = await daemonOnRay();
    const error = await client.call('nowhere', {}).catch((caught: unknown) => caught);
    expect(isPodkeeperError(error, 'NO_CAPACITY')).toBe(true);
    expect((error as Error).message).toContain('no_such_thing=1');
    // Not the recipe's fault: the next call tries again (and fails the same way), never POD_FATAL.
    const again = await client.call('nowhere', {}).catch((caught: unknown) => caught);
    expect(isPodkeeperError(again, 'NO_CAPACITY')).toBe(true);
  });

  it('builds a recipe with dependencies on the node, from a local wheelhouse, offline', async () => {
    const { client } = await daemonOnRay();
    expect(await client.call('remote-deps', {})).toEqual({ alpha: '1.0.0' });
  });

  it('reclaims its own idle pod that holds the remote resource another recipe waits for', async () => {
    const { client } = await daemonOnRay();
    const events = await client.subscribe({ events: ['pod.evicted'] });
    await client.call('remote-echo', {}); // now idle, holding gpu_host: 1 (idle timeout 300 s)
    const started = Date.now();
    expect(await client.call('remote-other', { n: 1 })).toMatchObject({ echo: { n: 1 } });
    for await (const event of events) {
      expect(event).toMatchObject({ event: 'pod.evicted', recipe: 'remote-echo' });
      break;
    }
    expect((await client.pods()).map((pod) => pod.recipe)).toEqual(['remote-other']);
    // Far below the placement deadline (60 s) it would otherwise have waited for.
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("installs the pinned ray into the home's tool env on first use", async () => {
    const { daemon, client } = await daemonOnRay({ toolEnv: true });
    expect(await client.call('remote-echo', { n: 1 })).toMatchObject({ echo: { n: 1 } });
    expect(existsSync(join(daemon.home, 'tools', `ray-${RAY_VERSION}`, 'bin', 'python'))).toBe(true);
    expect(readdirSync(join(daemon.home, 'tools'))).toEqual([`ray-${RAY_VERSION}`]); // no staging left
  });

  it("a secret never appears in Ray's state or logs", async () => {
    const { client } = await daemonOnRay();
    expect(await client.call('remote-echo', { expect: SECRET })).toMatchObject({ sawSecret: true });
    const state = execFileSync(cluster.python, ['-c', STATE_DUMP, cluster.address], {
      env: { ...process.env, ...cluster.env },
      encoding: 'utf8',
    });
    expect(state).toContain('PodActor'); // the dump does see our actor
    expect(state).not.toContain(SECRET);
    expect(filesHolding(cluster.tmp, SECRET)).toEqual([]);
  });

  it('a killed raylet ends the pod in REMOTE_LOST within 5 s, with no process left on the node', async () => {
    const { client } = await daemonOnRay();
    const answer = (await client.call('remote-echo', {})) as { pid: number };
    const waiting = client.call('remote-echo', { wait: true }).catch((caught: unknown) => caught);
    await waitFor(async () => (await client.pods())[0]?.inFlight === 1);
    const killedAt = Date.now();
    process.kill(gpuNode()?.raylet as number, 'SIGKILL');
    const error = await waiting;
    expect(Date.now() - killedAt).toBeLessThanOrEqual(5000);
    expect(error).toMatchObject({ code: 'REMOTE_LOST' });
    expect(await eventually(() => !isAlive(answer.pid) && rayWorkers('PodActor').length === 0, 1000)).toBe(
      true,
    );
  });
});

/** Everything the GCS holds about actors and jobs (what Ray's state API serves), as text. */
const STATE_DUMP = `
import sys, ray
ray.init(address=sys.argv[1], log_to_driver=False, logging_level="error")
from ray._private.state import state
print(repr(state.actor_table(None)))
print(repr(state.job_table()))
`;

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
