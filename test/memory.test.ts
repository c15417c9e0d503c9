import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemorySampler, totalMemoryMB } from '../src/manager/memory.js';

const MB = 1024 * 1024;
const onLinux = process.platform === 'linux';

/** Allocates `mb` MB and touches every page so that it is resident. */
const allocate = (mb: number) =>
  `b = bytearray(${mb} * 1024 * 1024); b[::4096] = b'x' * len(range(0, len(b), 4096))`;

/** Allocates 40 MB, prints its pid, sleeps. */
const GRANDCHILD = `import os, time\n${allocate(40)}\nprint(os.getpid(), flush=True)\ntime.sleep(600)`;

/**
 * Allocates 60 MB and starts a grandchild of 40 MB, directly or (orphan) through a middle process that
 * exits at once, so the grandchild is reparented and only its process group ties it to the root.
 */
function rootScript(orphan: boolean): string {
  const start = orphan
    ? `subprocess.Popen([sys.executable, '-c', ${JSON.stringify(`import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', ${JSON.stringify(GRANDCHILD)}])`)}], stdout=subprocess.PIPE)`
    : `subprocess.Popen([sys.executable, '-c', ${JSON.stringify(GRANDCHILD)}], stdout=subprocess.PIPE)`;
  return [
    'import subprocess, sys, time',
    allocate(60),
    `child = ${start}`,
    'grandchild = child.stdout.readline().decode().strip()',
    'print(grandchild, flush=True)',
    'time.sleep(600)',
  ].join('\n');
}

let python = 'python3';
const groups: number[] = [];

beforeAll(() => {
  // the real interpreter, not a version-manager shim that would add a process of its own
  python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();
});

afterEach(async () => {
  const started = groups.splice(0);
  for (const pgid of started) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  let left = livingMembers(started);
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await sleep(100);
    left = livingMembers(started);
  }
  expect(left).toEqual([]);
});

/** Processes, other than zombies, that are in one of `pgids`. */
function livingMembers(pgids: number[]): string[] {
  const table = execFileSync('ps', ['-A', '-o', 'pgid=,stat=,pid=']).toString();
  return table
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pgid, stat]) => pgids.includes(Number(pgid)) && !stat?.startsWith('Z'))
    .map((fields) => fields.join(' '));
}

/** Starts `script` as a new process group; resolves with it and its first line of output. */
async function start(script: string): Promise<{ child: ChildProcess; pid: number; line: string }> {
  const child = spawn(python, ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  groups.push(pid);
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return { child, pid, line };
}

describe.each([
  { orphan: false, title: 'a grandchild' },
  { orphan: true, title: 'an orphaned grandchild (same process group, reparented)' },
])('rssOfTree with $title', ({ orphan }) => {
  it('counts the root and the grandchild, not an unrelated sibling', async () => {
    const root = await start(rootScript(orphan));
    const sibling = await start(`import time\n${allocate(100)}\nprint('ready', flush=True)\ntime.sleep(600)`);
    if (orphan) {
      const ppid = Number(execFileSync('ps', ['-o', 'ppid=', '-p', root.line]).toString());
      expect(ppid).not.toBe(root.pid);
    }
    const sampler = createMemorySampler();
    const trees = await sampler.rssOfTrees([root.pid, sibling.pid]);
    const tree = trees.get(root.pid)!;
    expect(tree).toBeGreaterThanOrEqual(95 * MB);
    expect(tree).toBeLessThan(170 * MB); // 100 MB more if the sibling were counted
    expect(trees.get(sibling.pid)).toBeGreaterThanOrEqual(95 * MB);
    expect(await sampler.rssOfTree(root.pid)).toBeGreaterThanOrEqual(95 * MB);
  });
});

describe('createMemorySampler', () => {
  it.runIf(onLinux)('agrees between /proc and ps within 15%', async () => {
    const root = await start(rootScript(false));
    const [fromProc, fromPs] = await Promise.all([
      createMemorySampler().rssOfTree(root.pid),
      createMemorySampler({ forcePs: true }).rssOfTree(root.pid),
    ]);
    expect(fromProc).toBeGreaterThanOrEqual(95 * MB);
    expect(Math.abs(fromProc! - fromPs!) / fromProc!).toBeLessThan(0.15);
  });

  it('gives undefined for a dead pid and for pids that are never a pod', async () => {
    const child = spawn(python, ['-c', 'pass'], { detached: true, stdio: 'ignore' });
    groups.push(child.pid!);
    await once(child, 'exit');
    await sleep(50); // reaped
    for (const forcePs of [false, true]) {
      const sampler = createMemorySampler({ forcePs });
      expect(await sampler.rssOfTree(child.pid!)).toBeUndefined();
      const trees = await sampler.rssOfTrees([0, 1, -5, 1.5, child.pid!, process.pid]);
      expect([...trees.keys()]).toEqual([process.pid]);
    }
  });

  it('reports the machine memory in MB', () => {
    expect(totalMemoryMB()).toBeGreaterThan(64);
    expect(Number.isInteger(totalMemoryMB())).toBe(true);
  });
});
