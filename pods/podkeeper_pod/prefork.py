"""A pod forked from the zygote ahead of need: its guardian and its runner both exist before any
request, and the guardian accepts the request on the zygote's socket itself. A cold start pays
neither fork (each copies the page tables of a process as big as the zygote), nor the set-up of a
new session, nor a hop through the zygote.

    zygote ─fork─▶ spare guardian (setsid, signals to defaults; stdin/stdout /dev/null)
                      │ accepts on the zygote's socket; watches `channel` (end of file: the zygote is gone)
                      └─fork─▶ spare runner ─ waits on a socket pair for its pod's stdio
    request ─▶ guardian: read it (forked.read_request), one byte on `channel` (the zygote forks the
               next spare), environ and cwd ─▶ the runner: the same + fds 0, 1, 2 ─▶ the runner's start
               guardian ── ("forked", its pid) ─▶ the spawned process, then guards as forked.py's does

While a spare exists the zygote does not accept; when the zygote exits, `channel` ends: the spare
guardian exits, and so its runner, which reads the end of its pair.
"""

from __future__ import annotations

import os
import select
import socket
import sys

try:
    import _signal as signals
except ImportError:  # pragma: no cover
    import signal as signals

from . import forked, guardian, wire
from .channel import note


class Spare:
    """The zygote's handle on a spare: the guardian's pid and the socket it says it was taken on."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.channel = channel

    def gone(self) -> bool:
        """Once `channel` is readable: True if the spare took a request, False if it died."""
        try:
            taken = self.channel.recv(1) == TAKEN
        except OSError:
            taken = False
        self.channel.close()
        return taken


TAKEN = b"t"


def fork_spare(listener: socket.socket, recipe_dir: str) -> Spare:
    """In the zygote: fork a spare pod that will accept on `listener` (never returns in the child)."""
    ours, theirs = socket.socketpair()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            _become_spare(_Pod(theirs, listener, recipe_dir))
        except BaseException:  # noqa: BLE001 - never return into the zygote's loop
            os._exit(70)
    theirs.close()
    return Spare(pid, ours)


class _Pod:
    """The spare guardian's side: accepts its pod's request, then hands the stdio to its runner."""

    def __init__(self, channel: socket.socket, listener: socket.socket, recipe_dir: str) -> None:
        self.channel = channel
        self.listener = listener
        self.recipe_dir = recipe_dir
        self.to_runner, self.runner_end = socket.socketpair()
        self.conn: socket.socket | None = None

    def in_runner(self) -> None:
        """In the spare runner: wait for the pod's stdio, environ and cwd, then start as any runner."""
        for sock in (self.channel, self.listener, self.to_runner):
            sock.close()
        message, fds = wire.receive(self.runner_end, want_fds=True)
        self.runner_end.close()
        if message is None or message[0] != "pod" or len(fds) != 3:
            os._exit(0)  # the guardian is gone: the zygote dismissed the spare
        _, environ, cwd = message
        forked.adopt(fds, environ, cwd, self.recipe_dir)
        from . import __main__ as runner_main

        runner_main.guardian_pid = os.getppid()

    def take_pod(self) -> bool:
        """In the spare guardian, as its `arm`: accept a request, pass the stdio on, then answer the
        spawned process and watch it as a forked pod's guardian does."""
        self.runner_end.close()
        conn, environ, cwd, stdio = self._accept()
        self.conn = conn
        try:
            os.environ.clear()
            os.environ.update(environ)
            os.chdir(cwd)
            wire.send(self.to_runner, ("pod", environ, cwd), tuple(stdio))
            self.to_runner.close()
            os.dup2(stdio[2], 2)  # the pod's log, as in the runner
            for fd in stdio:
                if fd > 2:
                    os.close(fd)
            wire.send(conn, ("forked", os.getpid()))
        except OSError as error:
            try:
                wire.send(conn, ("refused", "ZYGOTE_BROKEN", f"the spare pod could not take over: {error!r}"))
            finally:
                os._exit(70)
        return forked.arm(conn)

    def _accept(self) -> tuple[socket.socket, dict, str, list[int]]:
        """The next request for this recipe; exits when the zygote is gone."""
        while True:
            ready, _, _ = select.select([self.listener, self.channel], [], [])
            if self.channel in ready:
                os._exit(0)  # the zygote is gone: the runner reads the end of its pair and goes
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue  # another process took it (the zygote, between its spares)
            try:
                request = forked.read_request(conn, self.recipe_dir)
            except (OSError, wire.WireError) as error:
                note(f"zygote spare: a fork request failed: {error}")
                request = None
            if request is None:
                conn.close()
                continue
            self.listener.close()
            try:
                self.channel.send(TAKEN)  # the zygote forks the next spare meanwhile
            except OSError:
                pass
            self.channel.close()
            environ, cwd, stdio = request
            return conn, environ, cwd, stdio

    def report(self, status: int) -> None:
        if self.conn is not None:
            forked.report(self.conn, status)


def _become_spare(pod: _Pod) -> None:
    os.setsid()
    for signum in (signals.SIGCHLD, *forked.FORWARDED):
        signals.signal(signum, signals.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # never hold the zygote's pipes: the daemon waits for them to close
    os.dup2(devnull, 1)
    os.close(devnull)
    guardian.guard(pod.take_pod, in_runner=pod.in_runner, report=pod.report)
