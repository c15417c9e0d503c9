/**
 * Another client, in a process of its own: small echo calls one after another on its own connection,
 * timed between a `start` and a `stop` line on stdin; at `stop` it prints their latencies (ms) as one
 * JSON line. A bench's own work (building and parsing big payloads) cannot delay it, so what it
 * measures is the daemon's.
 *
 *   node scripts/small-caller.js <socket> <target>
 */
import { createInterface } from 'node:readline';
import { lineClient } from './line-client.js';

const [socket, target] = process.argv.slice(2);
const client = await lineClient(socket);
let times = null;
let running = true;
const loop = (async () => {
  while (running) {
    const start = performance.now();
    await client.call({ text: 'hello' }, target);
    times?.push(performance.now() - start);
  }
})();
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'start') times = [];
  else if (line === 'stop') {
    process.stdout.write(`${JSON.stringify(times ?? [])}\n`);
    times = null;
  } else if (line === 'exit') break;
}
running = false;
await loop;
client.close();
