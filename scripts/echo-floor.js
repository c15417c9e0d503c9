/**
 * The floor the benches measure podkeeper against: a raw Node↔Python JSON-lines echo (one Python
 * process, split2 framing, JSON both ways, nothing else), the pipelined driver both sides run
 * through, and the percentile the tables report.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import split2 from 'split2';

export const ECHO_LOOP = `
import sys, json
out = sys.stdout
for line in sys.stdin:
    msg = json.loads(line)
    out.write(json.dumps({"id": msg["id"], "success": True, "result": msg["payload"]}) + "\\n")
    out.flush()
`;

export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/**
 * Lines of `stream` with linear framing, for big lines: chunks are collected until a newline and
 * concatenated once (split2 re-scans the partial line on every chunk, quadratic on a 16 MiB line).
 */
export function linearLines(stream, onLine) {
  let pieces = [];
  stream.on('data', (chunk) => {
    let from = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, from)) {
      pieces.push(chunk.subarray(from, newline));
      onLine(JSON.parse(Buffer.concat(pieces).toString('utf8')));
      pieces = [];
      from = newline + 1;
    }
    if (from < chunk.length) pieces.push(chunk.subarray(from));
  });
}

/**
 * A raw echo peer on `python`: `call(payload)` resolves with the payload echoed back. With `cpu`,
 * the Python process is pinned to that CPU (Linux `taskset`); with `linear`, answers are framed by
 * {@link linearLines} instead of split2 (the floor for big payloads).
 */
export function rawEcho(python, cpu, { linear = false } = {}) {
  const argv = ['-u', '-c', ECHO_LOOP];
  const stdio = { stdio: ['pipe', 'pipe', 'inherit'] };
  const child =
    cpu === undefined ? spawn(python, argv, stdio) : spawn('taskset', ['-c', cpu, python, ...argv], stdio);
  const waiting = new Map();
  const onAnswer = (msg) => {
    const resolve = waiting.get(msg.id);
    waiting.delete(msg.id);
    resolve?.(msg.result);
  };
  if (linear) linearLines(child.stdout, onAnswer);
  else child.stdout.pipe(split2(JSON.parse)).on('data', onAnswer);
  let next = 0;
  return {
    pid: child.pid,
    call(payload) {
      const id = String(next++);
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ id, action: 'process', payload })}\n`);
      });
    },
    close: () => child.kill(),
  };
}

/**
 * Calls/s with `window` calls outstanding until `total` were made. When `cpu` is given, this
 * process's CPU time per call (µs) is pushed to it.
 */
export async function pipelined(call, total, window, cpu) {
  let sent = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const lane = async () => {
    while (sent < total) {
      sent += 1;
      await call({ text: 'hello', i: sent });
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpuStart);
  cpu?.push((used.user + used.system) / total);
  return total / (elapsed / 1000);
}

/**
 * CPU time (µs) a process has used so far, all its threads, from /proc (Linux only: undefined
 * elsewhere), to the nanosecond.
 */
export function processCpuMicros(pid) {
  // Each thread's schedstat counts in nanoseconds; `stat` counts in 10 ms ticks, too coarse for
  // a per-call figure over a few thousand calls.
  try {
    let nanos = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      nanos += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    }
    return nanos / 1000;
  } catch {
    return undefined;
  }
}
