"""A pod forked from the zygote ahead of need: its guardian and its runner both exist before any
request, and the guardian accepts the daemon's connections on the zygote's socket itself. A cold
start pays neither fork (each copies the page tables of a process as big as the zygote), nor the
set-up of a new session, nor a hop through the zygote, nor a process of the daemon's own.

    zygote ─fork─▶ spare guardian (setsid, signals to defaults; stdin/stdout /dev/null)
                      │ accepts on the zygote's socket; watches `channel` (end of file: the zygote is gone)
                      └─fork─▶ spare runner ─ waits on a socket pair for its pod's stdio
    daemon ─connect ×3─▶ guardian: each connection opens with its role (c: control, o: the pod's
               stdin and stdout, e: its stderr) and the pod's 8-byte nonce
    guardian ── ["spare", its pid] ─▶ control: the daemon holds this spare now, ahead of its pod
    daemon ── ["go", environ, cwd] ─▶ guardian: one byte on `channel` (the zygote forks the next
               spare), environ and cwd ─▶ the runner: the same + fds 0, 1, 2 (o, o, e) ─▶ its start
    guardian ── ["forked", its pid] ─▶ control; it guards the pod as forked.py says, and sends
               ["exited", code, signal] there when it ends

While a spare exists the zygote does not accept. When the zygote exits, `channel` ends: a spare the
daemon does not hold yet exits, and so its runner, which reads the end of its pair; one the daemon
holds waits for its go (or the end of control) all the same.
"""

from __future__ import annotations

import os
import select
import sys

try:
    import _signal as signals
    import _socket as sockets  # the C socket type: a forked guardian runs none of socket.py (see accept)
except ImportError:  # pragma: no cover
    import signal as signals
    import socket as sockets

from . import forked, guardian, wire
from .channel import note


class Spare:
    """The zygote's handle on a spare: the guardian's pid and the socket it says it was taken on."""

    def __init__(self, pid: int, channel: sockets.socket) -> None:
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


def fork_spare(listener: sockets.socket, recipe_dir: str) -> Spare:
    """In the zygote: fork a spare pod that will accept on `listener` (never returns in the child)."""
    ours, theirs = sockets.socketpair()
    forked.renew_random_seeds()  # the pod's own, as a spawned pod's are
    sys.stdout.flush()
    sys.stderr.flush()
    pid = forked.fork_without_hooks()
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

    def __init__(self, channel: sockets.socket, listener: sockets.socket, recipe_dir: str) -> None:
        self.channel = channel
        self.listener = listener
        self.recipe_dir = recipe_dir
        self.to_runner, self.runner_end = sockets.socketpair()
        self.conn: sockets.socket | None = None

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
        """In the spare guardian, as its `arm`: accept the daemon's connections (it then holds this
        spare), wait for its go, pass the stdio on, then answer on control and watch it as a forked
        pod's guardian does."""
        self.runner_end.close()
        conn, stdio, stderr = self._accept()
        self.conn = conn
        environ, cwd = self._wait_for_go(conn)
        try:
            # Not os.environ: the guardian runs no recipe code, and taking the pod's would write
            # ~150 kB of pages it shares with the zygote. The runner takes it (forked.adopt).
            os.chdir(cwd)
            wire.send(self.to_runner, ("pod", environ, cwd), (stdio, stdio, stderr))
            self.to_runner.close()
            os.dup2(stderr, 2)  # the pod's log, as in the runner
            os.close(stderr)
            os.close(stdio)
            wire.send(conn, ("forked", os.getpid()))
        except OSError as error:
            try:
                wire.send(conn, ("refused", "ZYGOTE_BROKEN", f"the spare pod could not take over: {error!r}"))
            finally:
                os._exit(70)
        return forked.arm(conn)

    def _accept(self) -> tuple[sockets.socket, int, int]:
        """The daemon's three connections for one pod (control, stdio, stderr: see the module doc),
        answered with ["spare", our pid]; exits when the zygote is gone first."""
        sets: dict[bytes, dict[bytes, sockets.socket]] = {}
        while True:
            ready, _, _ = select.select([self.listener, self.channel], [], [])
            if self.channel in ready:
                os._exit(0)  # the zygote is gone: the runner reads the end of its pair and goes
            try:
                conn = accept(self.listener)
            except OSError:
                continue  # another process took it (the zygote, between its spares)
            opened = opening(conn)
            if opened is None:
                conn.close()
                continue
            role, nonce = opened
            found = sets.setdefault(nonce, {})
            if role in found:
                found[role].close()
            found[role] = conn
            if len(found) == len(ROLES):
                break
        for pending in sets.values():  # halves of sets that never came whole
            if pending is not found:
                for sock in pending.values():
                    sock.close()
        self.listener.close()  # held by the daemon now: the next pod is the next spare's
        for sock in found.values():
            sock.settimeout(None)  # blocking again: the runner reads fds 0 and 1 as it reads a pipe
        try:
            wire.send(found[b"c"], ("spare", os.getpid()))
        except OSError:
            os._exit(0)  # the daemon is gone already
        return found[b"c"], found[b"o"].detach(), found[b"e"].detach()

    def _wait_for_go(self, control: sockets.socket) -> tuple[dict, str]:
        """The daemon's ["go", environ, cwd], however long it takes (the zygote may exit meanwhile:
        this spare is the daemon's now); exits when the daemon lets the spare go."""
        go = _read_go(control)
        if go is None:
            os._exit(0)  # end of input (discarded), or a broken request (noted): the runner goes too
        try:
            self.channel.send(TAKEN)  # the zygote forks the next spare meanwhile
        except OSError:
            pass
        self.channel.close()
        return go

    def report(self, status: int) -> None:
        if self.conn is not None:
            forked.report(self.conn, status)


ROLES = (b"c", b"o", b"e")
NONCE_BYTES = 8
OPENING_TIMEOUT = 5.0


def accept(listener: sockets.socket) -> sockets.socket:
    """The next connection on `listener`. socket.socket's accept() would run socket.py's Python code,
    turning the family and type into enums, and a guardian that runs it copies the pages of all that
    code and those objects from the zygote (measured: ~90 kB more private memory per forked pod)."""
    fd, _ = listener._accept()
    return sockets.socket(fileno=fd)


def opening(conn: sockets.socket) -> tuple[bytes, bytes] | None:
    """A connection's role and its pod's nonce (its first 9 bytes), or None when it sends something else."""
    conn.settimeout(OPENING_TIMEOUT)
    data = b""
    try:
        while len(data) < 1 + NONCE_BYTES:
            chunk = conn.recv(1 + NONCE_BYTES - len(data))
            if not chunk:
                return None
            data += chunk
    except OSError:
        return None
    return (data[:1], data[1:]) if data[:1] in ROLES else None


def _read_go(control: sockets.socket) -> tuple[dict, str] | None:
    """["go", environ, cwd] on the control connection; None at its end, or (noted) when it is anything else."""
    try:
        message, _ = wire.receive(control)
    except (OSError, wire.WireError) as error:
        note(f"zygote spare: a pod's start request failed: {error}")
        return None
    if message is None:
        return None
    if len(message) != 3 or message[0] != "go":
        note(f"zygote spare: expected ['go', environ, cwd], got {str(message)[:200]}")
        return None
    _, environ, cwd = message
    if type(environ) is not dict or not all(type(v) is str for v in environ.values()) or type(cwd) is not str:
        note("zygote spare: a start request whose environ or cwd is malformed")
        return None
    return environ, cwd


def _become_spare(pod: _Pod) -> None:
    os.setsid()
    for signum in (signals.SIGCHLD, *forked.FORWARDED):
        signals.signal(signum, signals.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # never hold the zygote's pipes: the daemon waits for them to close
    os.dup2(devnull, 1)
    os.close(devnull)
    guardian.guard(pod.take_pod, in_runner=pod.in_runner, report=pod.report)
