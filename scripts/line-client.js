/**
 * The minimal control-socket client the benches drive a zero-logic relay (echo-relay.js) and the
 * daemon with, so that both sides of a comparison pay exactly the same client: one connection,
 * split2 framing, `JSON.parse`, a map of waiting calls. No validation, no timers, no streams.
 */
import { once } from 'node:events';
import net from 'node:net';
import split2 from 'split2';

/** Connects to `path`; `call(input, target)` → the `result` of the echo call (its error rejects). */
export async function lineClient(path) {
  const socket = net.createConnection(path);
  await once(socket, 'connect');
  const waiting = new Map();
  socket.pipe(split2(JSON.parse, { maxLength: 1024 * 1024 * 1024 })).on('data', (answer) => {
    const settle = waiting.get(answer.id);
    if (!settle || answer.type !== undefined) return; // progress, a chunk, an event: not the answer
    waiting.delete(answer.id);
    if (answer.success) settle.resolve(answer.result);
    else settle.reject(Object.assign(new Error(answer.error?.message), { code: answer.error?.code }));
  });
  socket.on('error', (error) => {
    for (const settle of waiting.values()) settle.reject(error);
    waiting.clear();
  });
  let next = 0;
  return {
    call(input, target = 'echo') {
      const id = `b${next++}`;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        socket.write(`${JSON.stringify({ id, action: 'call', payload: { target, input } })}\n`);
      });
    },
    close: () => socket.destroy(),
  };
}
