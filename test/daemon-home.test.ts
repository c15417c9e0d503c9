/**
 * The daemon's home: podkeeper checks the real directory (links resolved) and refuses one that is not
 * the daemon user's own or that others may write; it never chmods a directory it did not create, and
 * never reads a config.json that someone else owns or may write.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDaemonConfig } from '../src/daemon/config.js';
import { startDaemon } from './daemon-helpers.js';
import { eventually, tempDir } from './helpers.js';

const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/** A directory with exactly this mode (mkdir's mode is cut by the umask). */
function dirWithMode(mode: number): string {
  const dir = join(tempDir(), 'home');
  mkdirSync(dir);
  chmodSync(dir, mode);
  return dir;
}

/** A `python` that leaves a mark when anyone runs it. */
function markingPython(dir: string): { python: string; mark: string } {
  const mark = join(dir, 'ran');
  const python = join(dir, 'python');
  writeFileSync(python, `#!/bin/sh\ntouch '${mark}'\nexec python3 "$@"\n`, { mode: 0o755 });
  return { python, mark };
}

/** Starts a daemon on `home` that must refuse to start: its exit code and stderr (fails fast if it listens). */
async function refusedStart(home: string): Promise<{ code: number | null; stderr: string }> {
  const daemon = await startDaemon({ home, waitReady: false });
  let exited = false;
  void daemon.exited.then(() => {
    exited = true;
  });
  await eventually(() => exited || existsSync(daemon.socket), 15_000);
  expect(existsSync(daemon.socket), `the daemon started:\n${daemon.stderr()}`).toBe(false);
  const { code } = await daemon.exited;
  return { code, stderr: daemon.stderr() };
}

describe('home', () => {
  it('refuses a symlinked home whose target others may write, and leaves the target as it was', async () => {
    const target = dirWithMode(0o1777);
    const link = join(tempDir(), 'link');
    symlinkSync(target, link);
    const result = await refusedStart(link);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/INVALID_OPTION: .*writable by others/s);
    expect(result.stderr).toContain(target);
    expect(statSync(target).mode & 0o7777).toBe(0o1777);
  });

  it('takes a symlinked home whose target is private, without touching it', async () => {
    const target = dirWithMode(0o700);
    const link = join(tempDir(), 'link');
    symlinkSync(target, link);
    const daemon = await startDaemon({ home: link });
    expect(statSync(daemon.socket).mode & 0o777).toBe(0o600);
    expect(statSync(target).mode & 0o7777).toBe(0o700);
  });

  it('refuses a world-writable home before reading its config.json, and runs nothing from it', async () => {
    const home = dirWithMode(0o1777);
    const { python, mark } = markingPython(tempDir());
    writeFileSync(join(home, 'config.json'), JSON.stringify({ python }));
    const result = await refusedStart(home);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/INVALID_OPTION: .*writable by others.*mode 1777/s);
    expect(existsSync(mark)).toBe(false);
    expect(statSync(home).mode & 0o7777).toBe(0o1777);
    expect(existsSync(join(home, 'logs'))).toBe(false);
  });

  it('never chmods an existing home: one others may write is refused with the command that fixes it', async () => {
    const home = dirWithMode(0o775);
    const result = await refusedStart(home);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`INVALID_OPTION: .*mode 775.*chmod 700 ${home}`, 's'));
    expect(statSync(home).mode & 0o777).toBe(0o775);
  });

  it('takes a home others may only read (a plain mkdir) as it is: the socket is 0600, the logs 0700', async () => {
    const home = dirWithMode(0o755);
    const daemon = await startDaemon({ home });
    expect(statSync(home).mode & 0o777).toBe(0o755);
    expect(statSync(daemon.socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'logs')).mode & 0o777).toBe(0o700);
  });

  it('creates a missing home 0700', async () => {
    const home = join(tempDir(), 'a', 'new-home');
    const daemon = await startDaemon({ home });
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(daemon.socket).mode & 0o777).toBe(0o600);
  });

  it('refuses a config.json that others may write', () => {
    const home = dirWithMode(0o700);
    writeFileSync(join(home, 'config.json'), '{}');
    chmodSync(join(home, 'config.json'), 0o666);
    expect(() => loadDaemonConfig({ home }, {})).toThrow(/config\.json is writable by others.*chmod 600/s);
  });

  it('refuses a config.json that others may read when it carries `env` (tokens); one without is read', () => {
    const home = dirWithMode(0o700);
    const file = join(home, 'config.json');
    writeFileSync(file, JSON.stringify({ env: { HF_TOKEN: 'secret' } }));
    chmodSync(file, 0o644);
    expect(() => loadDaemonConfig({ home }, {})).toThrow(
      /config\.json sets `env` .* readable by others \(mode 644\).*chmod 600/s,
    );
    chmodSync(file, 0o640);
    expect(() => loadDaemonConfig({ home }, {})).toThrow(/readable by others \(mode 640\)/);
    chmodSync(file, 0o600);
    expect(loadDaemonConfig({ home }, {}).env).toEqual({ HF_TOKEN: 'secret' });
    writeFileSync(file, JSON.stringify({ idleTimeout: 7 }));
    chmodSync(file, 0o644);
    expect(loadDaemonConfig({ home }, {}).idleTimeout).toBe(7);
  });

  it.runIf(ROOT)('refuses a config.json or a home that belongs to another user', async () => {
    const home = dirWithMode(0o700);
    const { python, mark } = markingPython(tempDir());
    writeFileSync(join(home, 'config.json'), JSON.stringify({ python }));
    chownSync(join(home, 'config.json'), NOBODY, NOBODY);
    const planted = await refusedStart(home);
    expect(planted.code).toBe(2);
    expect(planted.stderr).toMatch(/INVALID_OPTION: .*config\.json belongs to uid 65534, not to you/s);
    expect(existsSync(mark)).toBe(false);

    const theirs = dirWithMode(0o700);
    chownSync(theirs, NOBODY, NOBODY);
    const result = await refusedStart(theirs);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/INVALID_OPTION: .*belongs to uid 65534, not to you/s);
  });
});
