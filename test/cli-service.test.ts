/**
 * `podkeeper service install|uninstall|status`, generating into a temporary HOME (never the real
 * one) with `--no-enable` (no user service manager is asked to start anything). The unit is checked
 * by systemd itself (`systemd-analyze verify`) where installed, parsed here in any case, and its
 * ExecStart is run for real: it starts a daemon that answers. The launchd plist is parsed by Python's
 * plistlib (a real plist reader) and, on macOS, linted by plutil.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, runCli } from './daemon-helpers.js';
import { eventually, onCleanup, tempDir } from './helpers.js';

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** systemd's unit syntax, as far as this unit uses it: sections, `Key=value`, double-quoted words. */
function parseUnit(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header?.[1]) {
      current = {};
      sections[header[1]] = current;
      continue;
    }
    const at = line.indexOf('=');
    if (!current || at < 1) throw new Error(`not a unit line: ${line}`);
    current[line.slice(0, at)] = line.slice(at + 1);
  }
  return sections;
}

function words(value: string): string[] {
  const found: string[] = [];
  for (const match of value.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g))
    found.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? ''));
  return found.map((word) => word.replaceAll('%%', '%'));
}

/** ExecStart's words as systemd runs them: `$$` is a `$`, `$VAR` and `${VAR}` expand (to nothing here). */
function execWords(value: string): string[] {
  return words(value).map((word) =>
    word.replace(/\$\$|\$\{\w*\}|\$\w+/g, (found) => (found === '$$' ? '$' : '')),
  );
}

async function service(args: string[], env: Record<string, string | undefined>) {
  const result = await runCli(['service', ...args], { env });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

describe('podkeeper service (systemd user unit)', () => {
  it('writes a unit systemd accepts, whose ExecStart runs a daemon; status and uninstall follow it', async () => {
    const userHome = tempDir('pk-user-');
    const xdg = join(userHome, 'xdg config');
    // A space, a `$` (systemd expands $VAR in ExecStart) and a `%` (a specifier): quoting is tested too.
    const home = join(tempDir('pk-home-'), 'pods $home 100%');
    // Relative and empty PATH entries would be looked up from the service's working directory.
    const env = { HOME: userHome, XDG_CONFIG_HOME: xdg, PATH: `bin::./tools:${process.env['PATH'] ?? ''}` };

    const installed = await service(['install', '--platform', 'linux', '--no-enable', '--home', home], env);
    const file = join(xdg, 'systemd', 'user', 'podkeeper.service');
    expect(installed.stdout).toContain(`wrote ${file}`);
    expect(installed.stdout).toContain('systemctl --user enable --now podkeeper.service');

    const unit = parseUnit(readFileSync(file, 'utf8'));
    const exec = execWords(unit['Service']?.['ExecStart'] ?? '');
    const [node = '', bin = '', ...rest] = exec;
    expect(node).toMatch(/^\//);
    expect(statSync(node).mode & 0o111).not.toBe(0);
    expect(bin).toMatch(/^\/.*\/bin\/podkeeper\.js$/);
    expect(existsSync(bin)).toBe(true);
    expect(rest).toEqual(['daemon', '--home', home]);
    expect(unit['Service']).toMatchObject({ Type: 'simple', Restart: 'on-failure', KillMode: 'mixed' });
    expect(unit['Install']).toEqual({ WantedBy: 'default.target' });
    const path = words(unit['Service']?.['Environment'] ?? '')[0] ?? '';
    expect(path).toMatch(/^PATH=\//);
    expect(
      path
        .slice('PATH='.length)
        .split(':')
        .filter((entry) => !entry.startsWith('/')),
    ).toEqual([]);

    if (has('systemd-analyze')) {
      const verified = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      expect(verified.status, verified.stderr).toBe(0);
      expect(verified.stderr).not.toContain(file);
    } else {
      console.warn('systemd-analyze is not installed: the unit is checked by the parse above only');
    }

    // What systemd would run, run here: a daemon that answers on the home's socket.
    const daemon = spawn(node, [bin, ...rest], {
      env: childEnv({ PATH: path.slice('PATH='.length) }),
      stdio: 'ignore',
    });
    onCleanup(() => stop(daemon));
    expect(
      await eventually(() => existsSync(join(home, 'podkeeper.sock')), 15_000, 50),
      'the ExecStart daemon did not listen',
    ).toBe(true);
    // Without --home: the daemon asked about is the one at the home written in the unit.
    const status = await service(['status', '--platform', 'linux', '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ installed: true, file, daemon: 'running', home });
    await stop(daemon);

    const removed = await service(['uninstall', '--platform', 'linux', '--no-enable'], env);
    expect(removed.stdout).toContain(`removed ${file}`);
    expect(existsSync(file)).toBe(false);
    const after = await service(['status', '--platform', 'linux', '--home', home], env);
    expect(after.stdout).toMatch(/^service +not installed/m);
    expect(after.stdout).toMatch(/^daemon +not running/m);
  });

  it('without XDG_CONFIG_HOME the unit goes to ~/.config/systemd/user', async () => {
    const userHome = tempDir('pk-user-');
    await service(['install', '--platform', 'linux', '--no-enable', '--home', tempDir('pk-home-')], {
      HOME: userHome,
      XDG_CONFIG_HOME: undefined,
    });
    expect(existsSync(join(userHome, '.config', 'systemd', 'user', 'podkeeper.service'))).toBe(true);
  });

  it('a home the daemon would refuse is refused at install (INVALID_OPTION), and nothing is written', async () => {
    const userHome = tempDir('pk-user-');
    const home = tempDir('pk-home-');
    execFileSync('chmod', ['777', home]);
    const result = await runCli(
      ['service', 'install', '--platform', 'linux', '--no-enable', '--home', home],
      {
        env: { HOME: userHome, XDG_CONFIG_HOME: undefined },
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^INVALID_OPTION: The home .* is writable by others/);
    expect(existsSync(join(userHome, '.config'))).toBe(false);
  });
});

describe('podkeeper service (launchd agent)', () => {
  it('writes a plist that plistlib reads, with the program, KeepAlive on failure and the logs', async () => {
    const userHome = tempDir('pk-user-');
    const home = tempDir('pk-home-');
    await service(['install', '--platform', 'darwin', '--no-enable', '--home', home], { HOME: userHome });
    const file = join(userHome, 'Library', 'LaunchAgents', 'dev.podkeeper.daemon.plist');
    const parsed = JSON.parse(
      execFileSync(
        'python3',
        ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))', file],
        { encoding: 'utf8' },
      ),
    ) as { Label: string; ProgramArguments: string[]; KeepAlive: unknown; RunAtLoad: boolean };
    expect(parsed.Label).toBe('dev.podkeeper.daemon');
    expect(parsed.ProgramArguments.slice(2)).toEqual(['daemon', '--home', home]);
    expect(parsed.ProgramArguments[0]).toBe(process.execPath);
    expect(parsed).toMatchObject({ RunAtLoad: true, KeepAlive: { SuccessfulExit: false } });
    if (has('plutil')) expect(spawnSync('plutil', ['-lint', file]).status).toBe(0);
    // plutil ships with macOS only; on Linux the plistlib parse above is the check.
    const status = await service(['status', '--platform', 'darwin', '--json'], { HOME: userHome });
    expect(JSON.parse(status.stdout)).toMatchObject({ installed: true, home }); // the plist's home
  });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
