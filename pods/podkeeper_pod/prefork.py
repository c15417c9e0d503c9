"""A pod forked from the zygote ahead of need: its guardian and its runner both exist before any
request, so a cold start pays neither fork (each copies the page tables of a process as big as the
zygote) nor the set-up of a new session.

    zygote ─fork─▶ spare guardian (setsid, signals to defaults; stdin/stdout /dev/null) ─ waits on `channel`
                      └─fork─▶ spare runner ─ waits on a socket pair for its pod's stdio
    request: zygote ── ("pod", recipe_dir, environ, cwd) + the request's connection and fds 0, 1, 2 ─▶ guardian
             guardian ── the same message + fds 0, 1, 2 ─▶ runner: dup2, environ, cwd ─▶ the runner's start
             guardian ── ("forked", its pid) ─▶ the spawned process, then guards exactly as forked.py's

The zygote forks the next spare once it has handed this one on. When the zygote exits, its end of
`channel` closes: the spare guardian exits, and so its runner, which reads the end of its pair.
"""

from __future__ import annotations

import os
import socket
import sys

try:
    import _signal as signals
except ImportError:  # pragma: no cover
    import signal as signals

from . import forked, guardian, wire


class Spare:
    """The zygote's handle on a spare: the guardian's pid and the socket that hands it a pod."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.channel = channel

    def hand_on(self, conn: socket.socket, fds: list[int], recipe_dir: str, environ: dict, cwd: str) -> bool:
        """Give the spare the request (its connection and the pod's stdio). False if it is gone."""
        try:
            wire.send(self.channel, ("pod", recipe_dir, environ, cwd), (conn.fileno(), *fds))
            return True
        except OSError:
            return False
        finally:
            self.channel.close()


def fork_spare(listener: socket.socket) -> Spare:
    """In the zygote: fork a spare pod (never returns in the child)."""
    ours, theirs = socket.socketpair()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            listener.close()
            ours.close()
            _become_spare(theirs)
        except BaseException:  # noqa: BLE001 - never return into the zygote's loop
            os._exit(70)
    theirs.close()
    return Spare(pid, ours)


class _Pod:
    """The spare guardian's side: waits for its pod, then hands it to the runner."""

    def __init__(self, channel: socket.socket, to_runner: socket.socket, runner_end: socket.socket) -> None:
        self.channel = channel
        self.to_runner = to_runner
        self.runner_end = runner_end
        self.conn: socket.socket | None = None

    def in_runner(self) -> None:
        """In the spare runner: wait for the pod's stdio, environ and cwd, then start as any runner."""
        self.channel.close()
        self.to_runner.close()
        message, fds = wire.receive(self.runner_end, want_fds=True)
        self.runner_end.close()
        if message is None or message[0] != "pod" or len(fds) != 3:
            os._exit(0)  # the guardian is gone, or the zygote dismissed the spare
        _, recipe_dir, environ, cwd = message
        forked.adopt(fds, environ, cwd, recipe_dir)
        from . import __main__ as runner_main

        runner_main.guardian_pid = os.getppid()

    def take_pod(self) -> bool:
        """In the spare guardian, as its `arm`: wait for a request, pass the stdio on, then answer
        the spawned process and watch it as a forked pod's guardian does."""
        self.runner_end.close()
        try:
            message, fds = wire.receive(self.channel, want_fds=True)
        except (OSError, wire.WireError):
            message, fds = None, []
        self.channel.close()
        if message is None or message[0] != "pod" or len(fds) != 4:
            os._exit(0)  # the zygote is gone (or broke the framing): the runner reads end of input and goes
        conn_fd, *stdio = fds
        self.conn = socket.socket(fileno=conn_fd)
        _, _, environ, cwd = message
        try:
            os.environ.clear()
            os.environ.update(environ)
            os.chdir(cwd)
            wire.send(self.to_runner, message, tuple(stdio))
            self.to_runner.close()
            os.dup2(stdio[2], 2)  # the pod's log, as in the runner
            for fd in stdio:
                if fd > 2:
                    os.close(fd)
            wire.send(self.conn, ("forked", os.getpid()))
        except OSError as error:
            try:
                wire.send(self.conn, ("refused", "ZYGOTE_BROKEN", f"the spare pod could not take over: {error!r}"))
            finally:
                os._exit(70)
        return forked.arm(self.conn)

    def report(self, status: int) -> None:
        if self.conn is not None:
            forked.report(self.conn, status)


def _become_spare(channel: socket.socket) -> None:
    os.setsid()
    for signum in (signals.SIGCHLD, *forked.FORWARDED):
        signals.signal(signum, signals.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # never hold the zygote's pipes: the daemon waits for them to close
    os.dup2(devnull, 1)
    os.close(devnull)
    to_runner, runner_end = socket.socketpair()
    pod = _Pod(channel, to_runner, runner_end)
    guardian.guard(pod.take_pod, in_runner=pod.in_runner, report=pod.report)
