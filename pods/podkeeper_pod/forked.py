"""A pod forked from a zygote (zygote.py): undo what must not be inherited, then guard a runner
exactly as a normally spawned guardian does (guardian.py).

    zygote ─fork─▶ here: new session and group; fds 0, 1, 2 = the spawned process's (the pod's pipes);
                   environ and cwd = the spawned process's; signal handlers and SIGCHLD to defaults;
                   random seeds renewed (random, numpy); subreaper
                   └─ guard() ─fork─▶ runner (the same code as a normal pod's, from recipe.json on)

The spawned process (via_zygote.py) and this guardian stay connected: it forwards the daemon's
signals here by pid, and gets the runner's wait status back to exit with. The connection closing
without that status means the spawned process was SIGKILLed (the daemon's last resort): the tree
is killed at once, as the daemon's SIGKILL to a normal pod's group would.
"""

from __future__ import annotations

import os
import sys
from _thread import get_ident, start_new_thread

try:
    import _signal as signals
except ImportError:  # pragma: no cover
    import signal as signals

from . import guardian, wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from socket import socket
    from typing import NoReturn

FORWARDED = (signals.SIGTERM, signals.SIGHUP, signals.SIGUSR1, signals.SIGALRM, signals.SIGINT)


def become_pod(conn: socket, fds: list[int], recipe_dir: str, environ: dict, cwd: str) -> NoReturn:
    try:
        os.setsid()
        for signum in (signals.SIGCHLD, *FORWARDED):
            signals.signal(signum, signals.SIG_DFL)
        adopt(fds, environ, cwd, recipe_dir)
        from . import __main__ as runner_main

        runner_main.guardian_pid = os.getpid()
        wire.send(conn, ("forked", os.getpid()))
    except BaseException as error:  # noqa: BLE001 - never return into the zygote's loop
        try:
            wire.send(conn, ("refused", "ZYGOTE_BROKEN", f"the forked pod could not set itself up: {error!r}"))
        finally:
            os._exit(70)
    guardian.guard(
        lambda: arm(conn),
        in_runner=conn.close,
        report=lambda status: report(conn, status),
    )


def adopt(fds: list[int], environ: dict, cwd: str, recipe_dir: str) -> None:
    """Become the spawned process's pod: its stdio (fds 0, 1, 2), environment and working directory,
    the runner's argv, fresh random seeds."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    sys.argv = ["-c", recipe_dir]
    renew_random_seeds()


def renew_random_seeds() -> None:
    """`random` reseeds itself in a forked child (os.register_at_fork); numpy's global generator does
    not: every pod forked from one zygote would draw the same numbers."""
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed(int.from_bytes(os.urandom(4), "little"))


def arm(conn: socket) -> bool:
    """The subreaper flag (no parent-death signal: the parent is the zygote, which may exit before
    us), and a watch on the spawned process through the connection."""
    if sys.platform.startswith("linux"):
        try:
            guardian._prctl(guardian.PR_SET_CHILD_SUBREAPER, 1)
        except (OSError, AttributeError, ImportError):
            pass
    start_new_thread(_watch, (conn, get_ident()))
    return True


def _watch(conn: socket, main: int) -> None:
    """Signals go to the main thread, which waits for the runner; this one waits for the peer to go."""
    signals.pthread_sigmask(signals.SIG_BLOCK, FORWARDED)
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    try:
        signals.pthread_kill(main, signals.SIGUSR1)  # the guardian's "kill the tree now"
    except OSError:
        pass


def report(conn: socket, status: int) -> None:
    try:
        wire.send(conn, ("exited", status))
    except OSError:  # the spawned process is gone: nobody to tell
        pass
