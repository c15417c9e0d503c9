/**
 * `npx podkeeper daemon` and `npm start` run the daemon under `npm → sh -c → node`. npm forwards a
 * SIGTERM (systemd, pm2, `kill $!`) to that shell only, and the shell dies without passing it on:
 * the daemon would be left running, reparented to init, and the next start refused. So when npm
 * started us through a shell, the shell's death counts as a SIGTERM. The shell otherwise waits for
 * us as long as we run, so its death is never a normal event.
 */
import { readFileSync } from 'node:fs';

const CHECK_MS = 250;
const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);

/** Calls `onGone` once if we were started by npm's shell and that shell goes away. */
export function watchNpmShell(onGone: (reason: string) => void): void {
  if (process.env['npm_command'] === undefined) return;
  const parent = process.ppid;
  if (!isShell(parent)) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone(`the shell npm started us from (pid ${parent}) is gone`);
  }, CHECK_MS);
  timer.unref();
}

function isShell(pid: number): boolean {
  try {
    return SHELLS.has(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
  } catch {
    return true; // no /proc (macOS): npm runs scripts and bins through `sh -c` there too
  }
}
