/**
 * What a call waiting for its recipe's env or pod is told meanwhile: the env build's phases (never
 * going backwards) and the starting pod's own log lines, as progress with a `stage`.
 */
import type { EnvPhase } from '../env/progress.js';
import type { ManagerEvent } from '../manager/events.js';
import type { DaemonProgress } from './context.js';

/** Where each env build phase sits on the call's progress bar while its pod cannot start yet. */
const ENV_PHASE_PROGRESS: Record<EnvPhase, number> = {
  waiting: 0,
  creating: 0.1,
  resolving: 0.2,
  downloading: 0.4,
  installing: 0.7,
  compiling: 0.75,
  'system-packages': 0.8,
  checking: 0.95,
};

/** Turns the env's and the starting pod's events into the call's `stage` progress. */
export function coldStartReporter(
  recipe: string,
  forward: (event: DaemonProgress) => void,
): (event: ManagerEvent) => void {
  let envProgress = 0;
  let starting: string | undefined; // the pod this call waits for, until it is ready
  const say = (stage: 'env' | 'starting', progress: number, message: string) =>
    forward({ type: 'progress', id: '', progress, message, stage });
  return (event) => {
    if (event.event === 'env.progress' && event.recipe === recipe) {
      envProgress = Math.max(envProgress, ENV_PHASE_PROGRESS[event.phase]);
      say('env', envProgress, `env ${event.phase}: ${event.message}`);
    } else if (event.event === 'pod.spawned' && event.recipe === recipe && starting === undefined) {
      starting = event.podId;
      say('starting', 0, `starting ${recipe}: loading…`);
    } else if (event.event === 'pod.log' && event.podId === starting) {
      say('starting', 0, `starting ${recipe}: ${event.message}`);
    } else if (event.event === 'pod.ready' && event.podId === starting) {
      starting = '';
      say('starting', 1, `starting ${recipe}: ready in ${event.spawnToReadyMs} ms`);
    }
  };
}
