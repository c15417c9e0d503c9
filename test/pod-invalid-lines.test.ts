/**
 * A request line the runner cannot read and in which it finds no id: the runner answers `invalid`,
 * and the daemon fails the oldest request it sent and has not had answered, so no caller waits forever.
 * The line is corrupted in transit by a real relay process between the daemon and a real runner.
 */
import { describe, expect, it } from 'vitest';
import { RUNNER_BOOTSTRAP } from '../src/manager/pod-factory.js';
import { PODS_DIR } from '../src/paths.js';
import { Pod } from '../src/pod/pod.js';
import { onCleanup, RUN_MARKER } from './helpers.js';
import { writeRecipe } from './install-helpers.js';

/** Relays stdin to the runner it starts, overwriting the head of every line that contains CORRUPT. */
const RELAY = [
  'import subprocess, sys',
  'child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE)',
  'for line in sys.stdin.buffer:',
  '    if b"CORRUPT" in line:',
  '        line = b"#" * 12 + line[12:]  # `{"id":"1","` is gone: nothing names the request',
  '    child.stdin.write(line)',
  '    child.stdin.flush()',
  'child.stdin.close()',
  'sys.exit(child.wait())',
].join('\n');

function relayedPod(): Pod {
  const dir = writeRecipe({ name: 'echo', code: 'def process(payload, ctx):\n    return payload\n' });
  const pod = new Pod({
    id: 'relayed',
    recipe: 'echo',
    capability: 'echo',
    executable: 'python3',
    args: ['-c', RELAY, 'python3', '-u', '-c', RUNNER_BOOTSTRAP, dir],
    cwd: dir,
    env: {
      PATH: process.env['PATH'],
      PYTHONPATH: PODS_DIR,
      PODKEEPER_POD_ID: 'relayed',
      PODKEEPER_TEST_RUN: RUN_MARKER,
    },
  });
  onCleanup(() => pod.kill('killed', 'test over'));
  return pod;
}

describe('a request line the runner finds no id in', () => {
  it('fails the oldest unanswered request with BAD_REQUEST at once; the next ones are answered', async () => {
    const pod = relayedPod();
    await pod.whenReady();
    const corrupted = pod.request('process', 'CORRUPT', { timeoutMs: 20_000 }).catch((e: unknown) => e);
    const next = pod.request('process', 'next');
    expect(await corrupted).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/no id found: not valid JSON/),
    });
    expect(await next).toBe('next');
    expect(await pod.request('process', 'after')).toBe('after');
    expect(pod).toMatchObject({ state: 'ready', inFlight: 0 });
    expect(pod.logs.tail(50).map((line) => line.message)).toContainEqual(
      expect.stringMatching(/bad request line/),
    );
  });
});
