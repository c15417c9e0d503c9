/**
 * The floor the benches measure podkeeper against: a raw Node↔Python JSON-lines echo (one Python
 * process, split2 framing, JSON both ways, nothing else), and the percentile the tables report.
 */
import { spawn } from 'node:child_process';
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

/** A raw echo peer on `python`: `call(payload)` resolves with the payload echoed back. */
export function rawEcho(python) {
  const child = spawn(python, ['-u', '-c', ECHO_LOOP], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  child.stdout.pipe(split2(JSON.parse)).on('data', (msg) => {
    const resolve = waiting.get(msg.id);
    waiting.delete(msg.id);
    resolve?.(msg.result);
  });
  let next = 0;
  return {
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
