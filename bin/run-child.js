// Runs a command as our child and stands in for it: the signals a supervisor sends us (systemd,
// pm2, a shell's `kill $!`) reach the child, and we end as it ended, with its exit code or by its
// signal. Used by bin/podkeeper.js and scripts/with-node.mjs when they hand over to another Node.
// Kept free of syntax and APIs newer than Node 16, like its callers.
import { spawn } from 'node:child_process';

const FORWARDED = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'];

/**
 * Spawns `command args` with our stdio and never returns control: the process exits when the child
 * does. SIGINT from a terminal's Ctrl-C already reaches the child (the whole foreground group gets
 * it), so it is forwarded only when no terminal is attached; forwarding it twice would make the
 * daemon skip its shutdown grace.
 */
export function runChild(command, args, options = {}) {
  const child = spawn(command, args, { stdio: 'inherit', ...options });
  const fromTerminal = Boolean(process.stdin.isTTY || process.stderr.isTTY);
  const handlers = {};
  for (const signal of FORWARDED) {
    handlers[signal] = () => {
      if (signal === 'SIGINT' && fromTerminal) return;
      try {
        child.kill(signal);
      } catch {
        // exited meanwhile
      }
    };
    process.on(signal, handlers[signal]);
  }
  child.on('error', (error) => {
    process.stderr.write(`cannot run ${command}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // End the way the child ended, so our parent sees the same signal.
      for (const name of FORWARDED) process.off(name, handlers[name]);
      process.kill(process.pid, signal);
      setTimeout(() => process.exit(128 + 1), 1000).unref(); // a signal whose default is not to end
      return;
    }
    process.exit(code ?? 1);
  });
}
