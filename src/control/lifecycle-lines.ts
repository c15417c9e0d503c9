/**
 * A pod's lifecycle as log lines (source `daemon`), kept and followed with the pod's own lines so
 * that `logs echo` shows when a quiet pod was spawned, became ready, was stopped and why, or crashed.
 */
import type { ManagerEvent, StopReason } from '../manager/events.js';
import type { LogLine } from '../protocol/control-results.js';

/** The log line an event stands for: a pod's own line as it is, a lifecycle event described. */
export function logLineOf(event: ManagerEvent): LogLine | undefined {
  if (event.event === 'pod.log') {
    const { podId, recipe, time, source, level, message } = event;
    return { time, podId, recipe, source, level, message };
  }
  const said = describe(event);
  if (!said) return undefined;
  return { time: Date.now(), podId: said.podId, recipe: said.recipe, source: 'daemon', ...said.line };
}

type Described = { podId: string; recipe: string; line: Pick<LogLine, 'level' | 'message'> };

function describe(event: ManagerEvent): Described | undefined {
  const info = (message: string) => ({ level: 'info' as const, message });
  switch (event.event) {
    case 'pod.spawned':
      // The process the daemon started (a local pod's guardian), which `ps` shows until `ready`...
      return { ...event, line: info(`spawned (pid ${event.pid ?? '?'})`) };
    case 'pod.ready': {
      // ...and from then on the pid `ps` shows: the runner's (the guardian's child).
      const pid = event.pid === undefined ? '' : `, pid ${event.pid}`;
      return { ...event, line: info(`ready in ${event.spawnToReadyMs} ms (${event.memoryMB} MB${pid})`) };
    }
    case 'pod.stopped':
      return { ...event, line: info(`stopped: ${why(event.reason)}`) };
    case 'pod.crashed': {
      const how = event.signal ? `signal ${event.signal}` : `exit code ${event.exitCode ?? '?'}`;
      const uptime = (event.uptimeMs / 1000).toFixed(1);
      return {
        ...event,
        line: { level: 'error', message: `crashed: ${how} (${event.reason}, up ${uptime} s)` },
      };
    }
    default:
      return undefined;
  }
}

function why(reason: StopReason | undefined): string {
  switch (reason?.why) {
    case 'idle':
      return `idle for ${reason.idleSeconds} s`;
    case 'keepAlive':
      return 'keep-alive 0 (after its call)';
    case 'evicted':
      return `evicted to make room for ${reason.for} (memory budget)`;
    case 'stopped':
      return 'by a stop request';
    case 'upgraded':
      return 'its recipe was upgraded or removed';
    case 'shutdown':
      return 'the daemon is shutting down';
    default:
      return 'stopped';
  }
}
