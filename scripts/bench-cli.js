#!/usr/bin/env node
/**
 * What one `podkeeper` command costs to start, by the way it is run, in one run, alternating:
 *   - installed: `podkeeper` on PATH after `npm install -g .` (into a throwaway npm prefix here);
 *   - direct: `node bin/podkeeper.js` (what the installed link runs; the floor);
 *   - npx: `npx podkeeper` inside the checkout (the way the README used to show);
 *   - hand-over: the machine's older Node (< 22.12, if it has one) running bin/podkeeper.js, which
 *     hands over to the checkout's .tools/ Node.
 * Each runs `podkeeper --version` and `podkeeper status` with no daemon (exit 3: connect, fail, hint).
 * Run after `npm run build`: node scripts/bench-cli.js [--rounds N]. Prints a markdown table of
 * medians (and p90) in ms; no assertions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'podkeeper.js');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);

const scratch = mkdtempSync(join(tmpdir(), 'pk-bench-cli-'));
try {
  const prefix = join(scratch, 'prefix');
  const env = {
    ...process.env,
    npm_config_update_notifier: 'false',
    PODKEEPER_HOME: join(scratch, 'home'),
    PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:${process.env.PATH}`,
  };
  const install = spawnSync(
    'npm',
    ['install', '-g', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '.'],
    {
      cwd: ROOT,
      env: { ...env, npm_config_prefix: prefix },
      encoding: 'utf8',
    },
  );
  if (install.status !== 0) throw new Error(`npm install -g failed:\n${install.stderr}`);

  const ways = {
    installed: ['podkeeper'],
    direct: [process.execPath, BIN],
    npx: ['npx', '--no-install', 'podkeeper'],
  };
  const old = oldNode();
  if (old) ways[`hand-over (${old.version})`] = [old.path, BIN];

  const commands = { '--version': ['--version'], 'status, no daemon': ['status'] };
  const times = {};
  for (let round = 0; round < rounds + 1; round++) {
    for (const [way, argv] of Object.entries(ways)) {
      for (const [name, args] of Object.entries(commands)) {
        const [command, ...rest] = argv;
        const started = performance.now();
        const result = spawnSync(command, [...rest, ...args], { cwd: ROOT, env, encoding: 'utf8' });
        const ms = performance.now() - started;
        if (result.status !== 0 && result.status !== 3) throw new Error(`${way} ${name}: ${result.stderr}`);
        if (round === 0) continue; // round 0 warms the caches
        const key = `${way}|${name}`;
        times[key] = [...(times[key] ?? []), ms];
      }
    }
  }
  const stat = (key, p) => {
    const sorted = [...times[key]].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(0);
  };
  console.log(`node ${process.version}, ${rounds} rounds, median (p90) ms\n`);
  console.log(`| way | ${Object.keys(commands).join(' | ')} |`);
  console.log(
    `| --- | ${Object.keys(commands)
      .map(() => '---')
      .join(' | ')} |`,
  );
  for (const way of Object.keys(ways)) {
    const cells = Object.keys(commands).map(
      (name) => `${stat(`${way}|${name}`, 0.5)} (${stat(`${way}|${name}`, 0.9)})`,
    );
    console.log(`| ${way} | ${cells.join(' | ')} |`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/** A Node older than 22.12 on this machine (the case bin/podkeeper.js hands over from). */
function oldNode() {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    const run = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const version = run.stdout?.trim();
    if (!version) continue;
    const [major, minor] = version.split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 12)) return { path, version: `v${version}` };
  }
  return undefined;
}
