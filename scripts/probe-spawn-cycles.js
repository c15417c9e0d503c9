#!/usr/bin/env node
/**
 * Is the daemon's RSS drift over spawn/exit cycles a leak or pages V8 keeps? One real daemon, the
 * cycles of the chaos test (test/chaos/spawn-cycles.chaos.ts: a call, then a stop; every 20th the
 * escaper), and every 100 cycles its RSS beside its live heap, read over the inspector on 127.0.0.1.
 * Then QUIET_S seconds of quiet (does the daemon give the pages back by itself?), and last a
 * last-resort GC through the inspector: the RSS it leaves is the floor a leak-free daemon returns to.
 * A leak shows as a live heap that grows with the cycles and stays after that GC.
 * Run: npm run build && node scripts/probe-spawn-cycles.js  (CYCLES=1000 QUIET_S=15 INSPECT_PORT=9329)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rssMB, startDaemon, stopDaemon } from './bench-processes.js';

const CYCLES = Number(process.env.CYCLES ?? 1000);
const QUIET_S = Number(process.env.QUIET_S ?? 15);
const PORT = Number(process.env.INSPECT_PORT ?? 9329);
const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures', 'recipes');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Evaluates `expression` in the daemon (Runtime.evaluate over the inspector's WebSocket). */
async function evaluate(expression) {
  const [target] = await (await fetch(`http://127.0.0.1:${PORT}/json/list`)).json();
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve) => socket.addEventListener('open', resolve));
  const answer = new Promise((resolve) =>
    socket.addEventListener('message', (message) => resolve(JSON.parse(message.data).result?.result?.value)),
  );
  socket.send(
    JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression, returnByValue: true } }),
  );
  const value = await answer;
  socket.close();
  return value;
}

const LIVE_HEAP_MB = `(() => { const m = process.memoryUsage(); return [m.heapUsed, m.heapTotal].map((b) => (b / 1048576).toFixed(1)); })()`;
const LAST_RESORT_GC = `(() => { process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
  process.getBuiltinModule('node:vm').runInNewContext('gc')({ type: 'major', execution: 'sync', flavor: 'last-resort' }); })()`;

const home = mkdtempSync(join(tmpdir(), 'pk-probe-cycles-'));
const daemon = await startDaemon(home, {
  env: { PODKEEPER_RECIPE_PATH: FIXTURES },
  nodeFlags: [`--inspect=127.0.0.1:${PORT}`],
});
const pid = daemon.child.pid;
const line = async (label) => {
  const [used, total] = await evaluate(LIVE_HEAP_MB);
  console.log(`${label}: RSS ${rssMB(pid).toFixed(1)} MB, heap ${used} MB live of ${total} MB`);
};
try {
  for (let i = 0; i < CYCLES; i++) {
    const target = i % 20 === 0 ? 'escaper' : 'echo';
    await daemon.client.call(target, {});
    await daemon.client.stop({ target });
    if ((i + 1) % 100 === 0 || i + 1 === 50) await line(`${i + 1} cycles`);
  }
  for (let s = 5; s <= QUIET_S; s += 5) {
    await sleep(5000);
    console.log(`quiet ${s} s: RSS ${rssMB(pid).toFixed(1)} MB`);
  }
  await evaluate(LAST_RESORT_GC);
  await line('after a last-resort GC (the floor)');
} finally {
  await stopDaemon(daemon);
  rmSync(home, { recursive: true, force: true });
}
