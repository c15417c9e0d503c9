/**
 * Prometheus metrics (prom-client), fed by the manager's events and its call reports, plus gauges
 * read from the manager at scrape time (pods by state, queue depth, memory). Its own registry: two
 * daemons in one process (tests) never share counters.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Disposer } from '../events.js';
import type { ManagerEvent } from '../manager/events.js';
import type { PodManager } from '../manager/pod-manager.js';
import { RestartWatch } from './history.js';
import { POD_STATES } from './snapshot.js';

const PREFIX = 'podkeeper_';

export class Metrics {
  readonly registry = new Registry();
  readonly #disposers: Disposer[] = [];
  readonly #spawns: Counter<'recipe'>;
  readonly #coldStart: Histogram<'recipe'>;
  readonly #calls: Histogram<'recipe' | 'outcome'>;
  readonly #evictions: Counter<'recipe'>;
  readonly #reclaims: Counter<'recipe'>;
  readonly #crashes: Counter<'recipe'>;
  readonly #restarts: Counter<'recipe'>;
  readonly #envBuilds: Counter<'recipe' | 'outcome'>;
  readonly #envBuildSeconds: Histogram<'recipe'>;
  readonly #restartWatch = new RestartWatch();
  readonly #manager: PodManager;
  readonly #gauges: Record<'podsByState' | 'queued' | 'inFlight' | 'used' | 'budget', Gauge<string>>;
  #scrape: Promise<void> | undefined;

  constructor(manager: PodManager) {
    const registers = [this.registry];
    this.#spawns = new Counter({
      name: `${PREFIX}pod_spawns_total`,
      help: 'Pods spawned.',
      labelNames: ['recipe'],
      registers,
    });
    this.#coldStart = new Histogram({
      name: `${PREFIX}pod_cold_start_seconds`,
      help: 'Spawn to ready, seconds.',
      labelNames: ['recipe'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.#calls = new Histogram({
      name: `${PREFIX}call_duration_seconds`,
      help: 'Calls from request to answer, seconds; outcome is ok or the error code.',
      labelNames: ['recipe', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#evictions = new Counter({
      name: `${PREFIX}pod_evictions_total`,
      help: 'Pods stopped to make room under the memory budget.',
      labelNames: ['recipe'],
      registers,
    });
    this.#reclaims = new Counter({
      name: `${PREFIX}pod_reclaims_total`,
      help: 'Pods stopped after being idle.',
      labelNames: ['recipe'],
      registers,
    });
    this.#crashes = new Counter({
      name: `${PREFIX}pod_crashes_total`,
      help: 'Pods that exited on their own.',
      labelNames: ['recipe'],
      registers,
    });
    this.#restarts = new Counter({
      name: `${PREFIX}pod_restarts_total`,
      help: 'Spawns that followed a crash of the same recipe.',
      labelNames: ['recipe'],
      registers,
    });
    this.#envBuilds = new Counter({
      name: `${PREFIX}env_builds_total`,
      help: 'Python environment builds (venv or system installs); outcome is ok or failed.',
      labelNames: ['recipe', 'outcome'],
      registers,
    });
    this.#envBuildSeconds = new Histogram({
      name: `${PREFIX}env_build_duration_seconds`,
      help: 'Successful environment builds, seconds.',
      labelNames: ['recipe'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    const collect = () => this.#refresh();
    const podsByState = new Gauge({
      name: `${PREFIX}pods`,
      collect,
      help: 'Live pods by state.',
      labelNames: ['state'],
      registers,
    });
    const queued = new Gauge({
      name: `${PREFIX}queue_depth`,
      collect,
      help: 'Requests waiting for a pod, by recipe.',
      labelNames: ['recipe'],
      registers,
    });
    const inFlight = new Gauge({
      name: `${PREFIX}calls_in_flight`,
      collect,
      help: 'Requests being handled by a pod, by recipe.',
      labelNames: ['recipe'],
      registers,
    });
    const used = new Gauge({
      name: `${PREFIX}memory_used_bytes`,
      collect,
      help: 'Summed RSS of all pods.',
      registers,
    });
    const budget = new Gauge({
      name: `${PREFIX}memory_budget_bytes`,
      collect,
      help: 'The memory budget for all pods.',
      registers,
    });
    this.#gauges = { podsByState, queued, inFlight, used, budget };
    this.#manager = manager;
    this.#disposers.push(
      manager.events.on('event', (event) => this.#record(event)),
      manager.calls.on('finished', ({ recipe, ms, outcome }) =>
        this.#calls.observe({ recipe, outcome }, ms / 1000),
      ),
    );
  }

  /** The exposition text and its content type. */
  async expose(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  /** One read of the manager per scrape, shared by the gauges that need it. */
  #refresh(): Promise<void> {
    this.#scrape ??= this.#read().finally(() => {
      this.#scrape = undefined;
    });
    return this.#scrape;
  }

  async #read(): Promise<void> {
    const { podsByState, queued, inFlight, used, budget } = this.#gauges;
    const [pods, memory] = await Promise.all([this.#manager.list(), this.#manager.memory()]);
    podsByState.reset();
    queued.reset();
    inFlight.reset();
    for (const state of POD_STATES) podsByState.set({ state }, 0);
    for (const pod of pods) {
      podsByState.inc({ state: pod.state });
      queued.inc({ recipe: pod.recipe }, pod.queued);
      inFlight.inc({ recipe: pod.recipe }, pod.inFlight);
    }
    if (memory.usedMB !== null) used.set(memory.usedMB * 1024 * 1024); // null: not measurable now (out of fds)
    budget.set(memory.maxMB * 1024 * 1024);
  }

  close(): void {
    for (const dispose of this.#disposers) dispose();
  }

  #record(event: ManagerEvent): void {
    if (this.#restartWatch.isRestart(event)) this.#restarts.inc({ recipe: event.recipe });
    switch (event.event) {
      case 'pod.spawned':
        this.#spawns.inc({ recipe: event.recipe });
        break;
      case 'pod.ready':
        this.#coldStart.observe({ recipe: event.recipe }, event.spawnToReadyMs / 1000);
        break;
      case 'pod.evicted':
        this.#evictions.inc({ recipe: event.recipe });
        break;
      case 'pod.reclaimed':
        this.#reclaims.inc({ recipe: event.recipe });
        break;
      case 'pod.crashed':
        this.#crashes.inc({ recipe: event.recipe });
        break;
      case 'env.built':
        this.#envBuilds.inc({ recipe: event.recipe, outcome: 'ok' });
        this.#envBuildSeconds.observe({ recipe: event.recipe }, event.ms / 1000);
        break;
      case 'env.failed':
        this.#envBuilds.inc({ recipe: event.recipe, outcome: 'failed' });
        break;
      default:
    }
  }
}
