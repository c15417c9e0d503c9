"""What a pod forked from a zygote (zygote.py, prefork.py) does that a normally spawned one does not:
take over the daemon's sockets as its stdio, its environ and cwd, and stay connected to the daemon;
and what the zygote does for each: renew numpy's random seed before it forks the pod.

    zygote: numpy's seed renewed ─fork, no after-fork hooks─▶ guardian: new session and group;
                   signal handlers and SIGCHLD to defaults; subreaper
                   └─ guard() ─fork─▶ runner (the same code as a normal pod's, from recipe.json on);
                      fds 0, 1, 2 = the daemon's sockets; environ and cwd its; `random` reseeds itself

The daemon signals the guardian's group as it signals a normal pod's (the guardian leads it: SIGTERM,
SIGUSR1 for the tree, SIGKILL), and the guardian sends the runner's exit on the control connection
(`["exited", code, signal]`): what the daemon reads for a normal pod from its child's exit. The
connection ending means the daemon is gone (the kernel closes its sockets even when it is SIGKILLed):
the guardian ends the tree as a normal pod's does on its parent-death signal.
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
    from collections.abc import Callable
    from socket import socket

FORWARDED = (signals.SIGTERM, signals.SIGHUP, signals.SIGUSR1, signals.SIGALRM, signals.SIGINT)


def adopt(fds: list[int], environ: dict, cwd: str, recipe_dir: str) -> None:
    """Become the spawned process's pod: its stdio (fds 0, 1, 2), environment and working directory,
    the runner's argv. Its random seeds are its own already (renew_random_seeds)."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    take_environ(environ)
    os.chdir(cwd)
    sys.argv = ["-c", recipe_dir]


def take_environ(environ: dict[str, str]) -> None:
    """Make os.environ `environ`, writing only the variables that differ from the zygote's: clearing
    and refilling it would free and reallocate every name and value, writing to pages this process
    shares with the zygote (measured: ~350 kB more private memory per forked pod)."""
    current = os.environ
    for name in [name for name in current if name not in environ]:
        del current[name]
    for name, value in environ.items():
        if current.get(name) != value:
            current[name] = value


def sync_c_environ() -> None:
    """In the zygote, after the preload: make the C environment (what subprocesses and C `getenv`
    see) os.environ again, which a preload may have changed alone (`os.putenv`, `os.unsetenv`, a C
    extension's `setenv`, of a name os.environ has or not): take_environ in a forked pod writes only
    what differs from os.environ. Done once here, not in every pod: ~150 kB of each pod's heap."""
    _clearenv()
    for name, value in os.environ.items():
        os.putenv(name, value)


def _clearenv() -> None:
    """libc clearenv() where there is one (glibc, musl); elsewhere unset what os.environ has (a
    name set in C alone then stays)."""
    try:
        import _ctypes

        clearenv = _ctypes.dlsym(_ctypes.dlopen(None, 2), "clearenv")
    except (ImportError, AttributeError, OSError):
        clearenv = None
    if clearenv is not None and _ctypes.call_function(clearenv, ()) == 0:
        return
    for name in os.environ:
        os.unsetenv(name)


def fork_without_hooks() -> int:
    """In the zygote: fork a spare's guardian as os.fork() does, but without the interpreter's
    after-fork work: the os.register_at_fork hooks (threading's, logging's, random's, any a preload
    added), the re-making of the GIL, the runtime's locks and other threads' states, and the os.fork
    audit event. The hooks rebuild, in the child, state that only the child's own Python code of
    those modules would use, and the guardian runs none of it (no recipe code, no logging, no
    random); its runner is forked by os.fork(), so the runner does all of that work and runs every
    hook, as a pod forked straight from the zygote would. Running them wrote ~380 kB of pages the
    guardian shares with the zygote (the numpy+pandas pod of `npm run bench:coldstart`: guardian
    1.37 MB, 0.98 MB without them).

    Only while this process has one thread (/proc/self/task, counted with signals blocked, so that
    no handler can start one before the fork): no other thread can then hold the GIL, a lock of the
    runtime or of a module, or take a signal during the fork. numpy's OpenBLAS pool runs after its
    import and its own fork handler ends it, so a zygote's first spare may be forked by os.fork()
    and the next ones not. libc's fork() is called holding the GIL (FUNCFLAG_PYTHONAPI) and still
    runs native pthread_atfork handlers. A signal that arrives meanwhile is handled in the zygote
    once its mask is back, never in the child. Linux with /proc and _ctypes; otherwise, or if libc's
    fork fails (os.fork() then raises its error), os.fork()."""
    fork = _libc_fork()
    if fork is None:
        return os.fork()
    zygote = os.getpid()
    mask = signals.pthread_sigmask(signals.SIG_BLOCK, [])
    try:
        signals.pthread_sigmask(signals.SIG_BLOCK, signals.valid_signals())
        pid = fork() if native_threads() == 1 else -1
        signals.pthread_sigmask(signals.SIG_SETMASK, mask)
    except BaseException:
        if os.getpid() != zygote:
            os._exit(70)  # in the child: never into the zygote's loop
        signals.pthread_sigmask(signals.SIG_SETMASK, mask)
        raise
    return os.fork() if pid < 0 else pid


def native_threads() -> int | None:
    """Threads of this process from /proc (None without /proc, as on macOS)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


# [libc's fork() called holding the GIL, or None], once looked up. Not functools.cache: with it a
# forked numpy+pandas pod read ~100 kB more private memory (bench:coldstart, 4.3 against 4.2 MB).
_libc: list = []


def _libc_fork() -> Callable[[], int] | None:
    """libc's fork() as a function called holding the GIL, or None (not Linux, no usable _ctypes)."""
    if not _libc:
        _libc.append(_look_up_fork() if sys.platform.startswith("linux") else None)
    return _libc[0]


def _look_up_fork() -> Callable[[], int] | None:
    try:
        import _ctypes

        class HoldingTheGil(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_PYTHONAPI

        return HoldingTheGil(_ctypes.dlsym(_ctypes.dlopen(None, 2), "fork"))
    except (ImportError, AttributeError, OSError, TypeError):
        return None


def renew_random_seeds() -> None:
    """In the zygote, before each spare's fork: `random` reseeds itself in a forked child
    (os.register_at_fork), numpy's global generator does not, and every pod forked from one zygote
    would draw the same numbers. Renewed here, not in the pod: reseeding writes ~100 kB of numpy's
    pages, which would be copied into every pod."""
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed(int.from_bytes(os.urandom(4), "little"))


def arm(conn: socket) -> bool:
    """The subreaper flag (no parent-death signal: the parent is the zygote, which may exit before
    us), and a watch on the daemon through the control connection."""
    if sys.platform.startswith("linux"):
        try:
            guardian._prctl(guardian.PR_SET_CHILD_SUBREAPER, 1)
        except (OSError, AttributeError, ImportError):
            pass
    start_new_thread(_watch, (conn, get_ident()))
    return True


def _watch(conn: socket, main: int) -> None:
    """Signals go to the main thread, which waits for the runner; this one waits for the daemon to go,
    then tells the guardian as a normal pod's parent-death signal does (SIGTERM to the runner, SIGKILL
    after the guardian's grace, then the sweep)."""
    signals.pthread_sigmask(signals.SIG_BLOCK, FORWARDED)
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    try:
        signals.pthread_kill(main, signals.SIGHUP)  # the guardian's "the daemon is gone"
    except OSError:
        pass


def report(conn: socket, status: int) -> None:
    """The runner's wait status as the daemon reads a child's exit: (exit code, None) or (None, signal number)."""
    if os.WIFSIGNALED(status):
        exit = ("exited", None, os.WTERMSIG(status))
    else:
        exit = ("exited", os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1, None)
    try:
        wire.send(conn, exit)
    except OSError:  # the daemon is gone: nobody to tell
        pass
