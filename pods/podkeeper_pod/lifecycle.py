"""Signals, the exit request, the parent watch, and the process-group kill on every exit path.

Every way out ends in `terminate(code)` on the main thread: SIGTERM (its handler), a setup failure,
or `request_exit()` from another thread (end of input, drained shutdown, broken pipe, parent gone),
which wakes the main thread from `wait()` - or, during setup, signals it with SIGTERM.
"""

from __future__ import annotations

import os
import sys
import time
from _thread import allocate_lock, get_ident, start_new_thread

try:  # the C module: `signal` itself imports enum, which is slow to import
    import _signal as signals
except ImportError:  # pragma: no cover - other interpreters
    import signal as signals

from .channel import note
from .groupkill import kill_own_group

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

PARENT_CHECK_SECONDS = 1.0


class Lifecycle:
    def __init__(self) -> None:
        self.exit_code: int | None = None
        self._latch = allocate_lock()
        self._latch.acquire()
        self._main = get_ident()
        self._waiting = False
        self._parent = os.getppid()
        self._cleanups: list[Callable[[], None]] = []

    def install(self) -> None:
        """SIGTERM exits cleanly, SIGPIPE is ignored, and a thread watches the parent pid."""
        signals.signal(signals.SIGTERM, self._on_sigterm)
        signals.signal(signals.SIGINT, self._on_sigint)  # Ctrl-C when run by hand: exit 130, quietly
        if hasattr(signals, "SIGPIPE"):
            signals.signal(signals.SIGPIPE, signals.SIG_IGN)
        start_new_thread(self._watch_parent, ())

    def on_exit(self, cleanup: Callable[[], None]) -> None:
        self._cleanups.append(cleanup)

    def request_exit(self, code: int, reason: str = "") -> None:
        """Ask the main thread to exit with `code` (the first request wins); any thread."""
        if self.exit_code is not None:
            return
        self.exit_code = code
        if reason:
            note(f"exiting: {reason}")
        if self._waiting:
            try:
                self._latch.release()
            except RuntimeError:  # released already by a concurrent request
                pass
        elif get_ident() != self._main:
            signals.pthread_kill(self._main, signals.SIGTERM)  # interrupt setup; the handler exits

    def wait(self) -> int:
        """Block the main thread until an exit is requested; returns the exit code."""
        self._waiting = True
        if self.exit_code is not None:
            return self.exit_code
        # The timeout only bounds how late a signal delivered to another thread gets handled.
        while not self._latch.acquire(timeout=PARENT_CHECK_SECONDS):
            pass
        return self.exit_code or 0

    def terminate(self, code: int) -> None:
        """The one exit path: clean up, kill the rest of our process group, `_exit(code)`."""
        signals.signal(signals.SIGTERM, signals.SIG_IGN)
        for cleanup in self._cleanups:
            try:
                cleanup()
            except Exception as error:  # noqa: BLE001 - exit anyway
                note(f"cleanup failed: {error}")
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, RuntimeError):  # closed, or re-entered from a signal handler
                pass
        try:
            kill_own_group()
        finally:
            os._exit(code)

    def _on_sigterm(self, signum: int, frame: object) -> None:
        self.terminate(self.exit_code if self.exit_code is not None else 0)

    def _on_sigint(self, signum: int, frame: object) -> None:
        self.terminate(130)

    def _watch_parent(self) -> None:
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            if os.getppid() != self._parent:
                self.request_exit(0, f"parent process {self._parent} is gone")
                return


def set_title(recipe_name: str) -> None:
    """`podkeeper: <recipe>` in ps/top, when the optional setproctitle package is installed.

    SPT_NOENV keeps setproctitle from moving the environment to make room for a long title: the
    title fits in argv, and /proc/<pid>/environ stays readable (the daemon's env GC and the test
    suites' leak checks look for their markers there)."""
    os.environ.setdefault("SPT_NOENV", "1")
    setproctitle = title_setter()
    if setproctitle is not None:
        setproctitle(f"podkeeper: {recipe_name}")


_title_setter: list[Callable[[str], None] | None] = []  # once looked up: [setproctitle or None]


def title_setter() -> Callable[[str], None] | None:
    """setproctitle() of the optional package, or None; looked up once. A zygote looks it up before
    it forks: a failed import walks sys.path, which writes ~100 kB of pages in every pod it forks."""
    if not _title_setter:
        os.environ.setdefault("SPT_NOENV", "1")  # read when the module loads, or at its first call
        try:
            from setproctitle import setproctitle
        except ImportError:
            setproctitle = None
        _title_setter.append(setproctitle)
    return _title_setter[0]
