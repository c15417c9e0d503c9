#!/usr/bin/env node
/**
 * The least a Node process in the middle can cost: a relay with no logic at all between a socket
 * client and the raw Python echo of echo-floor.js. The control bench measures it beside the daemon,
 * so what a call through the daemon costs beyond its extra process hops is visible.
 *
 *   client ──socket──▶ this relay (split2, JSON.parse) ──pipe──▶ raw Python echo ──▶ back the same way
 *
 * Run: node scripts/echo-relay.js <socket-path> <python>   (prints "listening" once it accepts)
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import split2 from 'split2';
import { rawEcho } from './echo-floor.js';

const [socketPath, python] = process.argv.slice(2);
if (!socketPath || !python) {
  console.error('usage: node scripts/echo-relay.js <socket-path> <python>');
  process.exit(2);
}
const echo = rawEcho(python);
const server = net.createServer((socket) => {
  socket.pipe(split2(JSON.parse)).on('data', (request) => {
    void echo.call(request.payload?.input).then((result) => {
      socket.write(`${JSON.stringify({ id: request.id, success: true, result })}\n`);
    });
  });
  socket.on('error', () => socket.destroy());
});
rmSync(socketPath, { force: true });
server.listen(socketPath, () => console.log('listening'));
process.on('SIGTERM', () => {
  echo.close();
  server.close();
  process.exit(0);
});
