"""The guardian: the process the daemon spawns. It forks the runner, never runs recipe code, and so
always responds; when the pod ends it leaves no descendant behind, even one that left the process
group with setsid().

    daemon ─spawn─▶ guardian (session + group leader G; Linux: subreaper, parent-death signal SIGHUP)
                       └─fork─▶ runner (group G; `ready.pid`) ─▶ subprocesses (G), setsid() escapees

    SIGTERM   forwarded to the runner (the daemon's stop also signals the whole group G)
    SIGHUP    the daemon is gone (PR_SET_PDEATHSIG on Linux; a poll of the parent pid elsewhere):
              SIGTERM to the runner, SIGKILL after STOP_GRACE_SECONDS even if it holds the GIL
    SIGUSR1   the daemon's SIGKILL: kill the whole tree now
    runner exits (or is killed) ─▶ sweep (sweep.py): SIGTERM group G and every descendant, SIGKILL
              after SWEEP_GRACE_SECONDS ─▶ exit with the runner's exit code, or die of its signal

Descendants are found in /proc: as subreaper, the guardian inherits every orphan of its tree, so an
escapee whose parent died is its child. Without /proc (macOS) it signals group G only, and finds no
setsid() escapee; without PR_SET_PDEATHSIG it polls its parent once a second.
"""

from __future__ import annotations

import os
import sys
import time

try:
    import _signal as signals
except ImportError:  # pragma: no cover - other interpreters
    import signal as signals

from .sweep import kill, sweep

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOP_GRACE_SECONDS = 1.0
PARENT_POLL_SECONDS = 1.0


class _Wake(Exception):
    """Raised by a signal handler to leave the blocking wait."""


class Guardian:
    def __init__(self, runner: int, parent: int) -> None:
        self.runner = runner
        self.parent = parent
        self.status: int | None = None  # the runner's wait status, once reaped
        self.deadline: float | None = None  # when to stop waiting for the runner
        self.kill_now = False
        self.waiting = False  # in serve()'s loop, where _Wake is caught

    def on_term(self, signum: int, frame: object) -> None:
        kill(self.runner, signals.SIGTERM)

    def on_parent_gone(self, signum: int, frame: object) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + STOP_GRACE_SECONDS
            kill(self.runner, signals.SIGTERM)
        self._wake()

    def on_kill(self, signum: int, frame: object) -> None:
        self.kill_now = True
        self._wake()

    def _wake(self) -> None:
        if self.waiting:
            raise _Wake

    def on_alarm(self, signum: int, frame: object) -> None:
        if os.getppid() != self.parent:
            self.on_parent_gone(signum, frame)

    def serve(self) -> int:
        """Wait for the runner (reaping adopted orphans meanwhile), sweep, return its wait status."""
        self.waiting = True
        while self.status is None and not self.kill_now:
            try:
                if self.deadline is None:
                    self._reap(0)  # blocks; a handler that raises _Wake interrupts it
                elif time.monotonic() < self.deadline:
                    self._reap(os.WNOHANG)
                    time.sleep(0.02)
                else:
                    break  # the runner did not answer SIGTERM (stuck in C code, say)
            except _Wake:
                continue
            except ChildProcessError:
                break
        self.waiting = False
        for signum in (signals.SIGHUP, signals.SIGUSR1, signals.SIGALRM):
            signals.signal(signum, signals.SIG_IGN)
        if self.status is None:
            kill(self.runner, signals.SIGKILL)
        sweep(gentle=not self.kill_now)
        return signals.SIGKILL if self.status is None else self.status  # a wait status: killed by SIGKILL

    def _reap(self, flags: int) -> None:
        while True:
            pid, status = os.waitpid(-1, flags)
            if pid == 0:
                return
            if pid == self.runner:
                self.status = status
                return
            flags = os.WNOHANG  # an adopted orphan: reap what else is ready, then wait again


def _arm(parent: int) -> bool:
    """Linux: the parent-death signal and the subreaper flag. False when the parent is already gone."""
    if sys.platform.startswith("linux"):
        try:
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
            _prctl(PR_SET_PDEATHSIG, int(signals.SIGHUP))
        except (OSError, AttributeError, ImportError):  # no usable libc: the poll below does it
            _poll_parent()
    else:
        _poll_parent()
    return os.getppid() == parent  # the daemon may have died before the signal was armed


def _prctl(option: int, value: int) -> None:
    """libc prctl(option, value, 0, 0, 0). Through _ctypes' own dlsym/call_function (CPython 3.9 to
    3.13): importing the ctypes package as well costs ~1 ms more on the pod's start-up path."""
    try:
        import _ctypes

        result = _ctypes.call_function(_ctypes.dlsym(_ctypes.dlopen(None, 2), "prctl"), (option, value, 0, 0, 0))
    except (AttributeError, TypeError):  # another interpreter's _ctypes
        import ctypes

        result = ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    if result != 0:
        raise OSError(f"prctl({option}) failed")


def _wait_armed(fd: int) -> None:
    """In the runner: block until the guardian has armed (or is gone: end of file)."""
    try:
        os.read(fd, 1)
    finally:
        os.close(fd)


def _poll_parent() -> None:
    if hasattr(signals, "setitimer"):
        signals.setitimer(signals.ITIMER_REAL, PARENT_POLL_SECONDS, PARENT_POLL_SECONDS)


def run() -> None:
    """The daemon's entry: `python -u -c "from podkeeper_pod.guardian import run; run()" <recipe_dir>`."""
    parent = os.getppid()
    guard(lambda: _arm(parent))


def guard(
    arm: Callable[[], bool],
    in_runner: Callable[[], None] | None = None,
    report: Callable[[int], None] | None = None,
) -> NoReturn:
    """Fork the runner, guard it until it ends, then exit as it did. `arm` makes this process the
    tree's subreaper and watches the daemon (False: it is gone already); `in_runner` runs first in
    the forked runner; `report` gets the runner's wait status before this process exits by it (a pod
    forked from a zygote tells the process the daemon spawned, see zygote.py)."""
    parent = os.getppid()
    # Set before the fork, so no signal finds the guardian with its default action; the runner
    # resets them (its Lifecycle installs its own SIGTERM/SIGINT handlers; SIGHUP/SIGUSR1 go back to default).
    guardian = Guardian(0, parent)
    for signum, handler in (
        (signals.SIGTERM, guardian.on_term),
        (signals.SIGHUP, guardian.on_parent_gone),
        (signals.SIGUSR1, guardian.on_kill),
        (signals.SIGALRM, guardian.on_alarm),
    ):
        signals.signal(signum, handler)
    signals.signal(signals.SIGINT, signals.SIG_IGN)  # Ctrl-C by hand: the runner handles it and exits
    # The fork comes first, so that arming (prctl through _ctypes, ~1-2 ms) overlaps the runner's
    # own start-up; the runner waits for `armed` only before it imports recipe code, which is what
    # could leave orphans (the subreaper flag must be set by then).
    armed_read, armed_write = os.pipe()
    runner = os.fork()
    if runner == 0:
        os.close(armed_write)
        for signum in (signals.SIGTERM, signals.SIGHUP, signals.SIGUSR1, signals.SIGALRM, signals.SIGINT):
            signals.signal(signum, signals.SIG_DFL)
        if in_runner is not None:
            in_runner()
        from . import __main__ as runner_main

        runner_main.before_recipe_code = lambda: _wait_armed(armed_read)
        runner_main.run()
        os._exit(0)  # not reached: run() exits
    os.close(armed_read)
    guardian.runner = runner
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # the runner owns the pipes: the daemon must see them close when it exits
    os.dup2(devnull, 1)
    os.close(devnull)
    parent_alive = arm()
    os.write(armed_write, b"1")
    os.close(armed_write)
    if not parent_alive:  # the daemon died before the signal was armed
        guardian.deadline = time.monotonic() + STOP_GRACE_SECONDS
        kill(runner, signals.SIGTERM)
    status = guardian.serve()
    sys.stdout.flush()
    if report is not None:
        report(status)
    exit_as(status)


def exit_as(status: int) -> NoReturn:
    """Exit with the code of a wait status, or die of its signal (so the daemon sees the same crash)."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum != signals.SIGKILL:
            signals.signal(signum, signals.SIG_DFL)
        os.kill(os.getpid(), signum)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
