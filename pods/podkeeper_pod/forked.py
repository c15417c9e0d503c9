"""What a pod forked from a zygote (zygote.py, prefork.py) does that a normally spawned one does not:
read the spawned process's request, take over its stdio, environ and cwd, renew random seeds, and
stay connected to it.

    zygote ─fork─▶ guardian: new session and group; signal handlers and SIGCHLD to defaults; subreaper
                   └─ guard() ─fork─▶ runner (the same code as a normal pod's, from recipe.json on);
                      fds 0, 1, 2, environ and cwd = the spawned process's; seeds renewed (random, numpy)

The spawned process (via_zygote.py) and the guardian stay connected: it forwards the daemon's
signals there by pid, and gets the runner's wait status back to exit with. The connection closing
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

FORWARDED = (signals.SIGTERM, signals.SIGHUP, signals.SIGUSR1, signals.SIGALRM, signals.SIGINT)


def read_request(conn: socket, recipe_dir: str) -> tuple[dict, str, list[int]] | None:
    """A fork request from a spawned process (via_zygote.py): its environ, cwd and fds 0, 1, 2; None
    when it asked for another recipe (answered ZYGOTE_MISMATCH). Raises WireError or OSError."""
    conn.settimeout(5)
    request, fds = wire.receive(conn, want_fds=True)
    try:
        if request is None or request[0] != "fork" or len(fds) != 3 or len(request) != 4:
            raise wire.WireError(f"expected ('fork', recipe_dir, environ, cwd) and 3 fds, got {len(fds)} fds")
        conn.settimeout(None)
        if request[1] != recipe_dir:
            wire.send(conn, ("refused", "ZYGOTE_MISMATCH", f"this zygote serves {recipe_dir}"))
            raise _Mismatch
    except BaseException as error:
        for fd in fds:
            os.close(fd)
        if isinstance(error, _Mismatch):
            return None
        raise
    return request[2], request[3], fds


class _Mismatch(Exception):
    pass


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
