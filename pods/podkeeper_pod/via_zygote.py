"""The process the daemon spawns for a pod of a recipe that has a zygote (zygote.py): it asks the
zygote to fork the pod, hands it its own stdin, stdout and stderr (the pod's pipes), then stands in
for it, so the daemon keeps a child of its own to signal and to wait for:

    daemon ─spawn─▶ this (session leader; the pid the daemon signals and waits for)
                      │ SIGTERM, SIGUSR1, SIGHUP (its parent-death signal), SIGINT ─▶ forwarded by pid
                      │ ◀── ("exited", wait status) ── the forked guardian ─▶ exit as it did
                      └ no zygote, or it refused: a normal start in this very process (guardian.run)

With `--spare` it is started ahead of need and waits for a `go <pod id>` line on stdin first.

Started with `-S` (no site: ~4 ms less in a venv), it imports only built-in modules until it knows
whether the zygote answers; the fallback imports `site` itself, as a normal start would have.
"""

from __future__ import annotations

import os
import sys

try:
    import _signal as signals
    import _socket as sockets
except ImportError:  # pragma: no cover - other interpreters
    import signal as signals
    import socket as sockets

from . import wire

USAGE = "usage: python -S -c 'from podkeeper_pod.via_zygote import run; run()' <recipe_dir> <socket> [--spare]"
FORWARDED = (signals.SIGTERM, signals.SIGUSR1, signals.SIGHUP, signals.SIGINT)


class Relay:
    def __init__(self) -> None:
        self.target = 0  # the forked guardian, once known
        self.pending: list[int] = []  # signals that came before it was known
        self.parent = os.getppid()

    def on_signal(self, signum: int, frame: object) -> None:
        if self.target > 0:
            _kill(self.target, signum)
        else:
            self.pending.append(signum)

    def on_alarm(self, signum: int, frame: object) -> None:
        if os.getppid() != self.parent:  # no parent-death signal here (macOS): the daemon is gone
            self.on_signal(signals.SIGHUP, frame)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[2:] not in ([], ["--spare"]):
        _note(f"{USAGE} (got {' '.join(argv) or 'no arguments'})")
        return 2
    recipe_dir, path = os.path.abspath(argv[0]), argv[1]
    if argv[2:] and not _wait_for_pod():
        return 0  # the daemon no longer needs this spare
    relay = Relay()
    for signum in FORWARDED:
        signals.signal(signum, relay.on_signal)
    try:
        conn = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
        conn.connect(path)
        wire.send(conn, ("fork", recipe_dir, dict(os.environ), os.getcwd()), (0, 1, 2))
        reply, _ = wire.receive(conn)
    except (OSError, wire.WireError) as error:
        return fall_back(relay, recipe_dir, f"ZYGOTE_UNAVAILABLE: cannot reach the zygote at {path}: {error}")
    if reply is None or reply[0] != "forked":
        code, why = (reply[1], reply[2]) if reply and len(reply) == 3 else ("ZYGOTE_BROKEN", f"it answered {reply!r}")
        return fall_back(relay, recipe_dir, f"{code}: the zygote did not fork the pod: {why}")
    relay.target = int(reply[1])
    _arm(relay)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # the forked pod owns the pipes now: the daemon must see them close when it ends
    os.dup2(devnull, 1)
    os.close(devnull)
    for signum in relay.pending:
        _kill(relay.target, signum)
    try:
        message, _ = wire.receive(conn)
    except (OSError, wire.WireError):
        message = None
    status = int(message[1]) if message and message[0] == "exited" else int(signals.SIGKILL)  # vanished: killed
    from .guardian import exit_as

    exit_as(status)
    return 1  # not reached


def _wait_for_pod() -> bool:
    """A spare, started ahead so that its interpreter start is off a pod's cold start: wait for the
    daemon's `go <pod id>` line (read a byte at a time: what follows it is the pod's). False at end
    of input."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            return False
        line += byte
    words = line.split()
    if len(words) == 2 and words[0] == b"go":
        os.environ["PODKEEPER_POD_ID"] = words[1].decode()
    return True


def fall_back(relay: Relay, recipe_dir: str, why: str) -> int:
    """A normal start, in this process: what the daemon would have spawned without a zygote."""
    _note(f"{why}; starting the pod without it")
    for signum in FORWARDED:
        signals.signal(signum, signals.SIG_DFL)
    for signum in relay.pending:  # the daemon asked us to stop before anything started
        os.kill(os.getpid(), signum)
    import site

    site.main()  # what -S left out: the env's site-packages
    sys.argv = ["-c", recipe_dir]
    from .guardian import run as run_guardian

    run_guardian()
    return 0  # not reached


def _arm(relay: Relay) -> None:
    """Linux: a parent-death signal (SIGHUP, forwarded like the daemon's own); elsewhere a poll."""
    if sys.platform.startswith("linux"):
        from .guardian import PR_SET_PDEATHSIG, _prctl

        try:
            _prctl(PR_SET_PDEATHSIG, int(signals.SIGHUP))
            if os.getppid() == relay.parent:
                return
            relay.on_signal(signals.SIGHUP, None)  # it died before the signal was armed
            return
        except (OSError, AttributeError, ImportError):
            pass
    signals.signal(signals.SIGALRM, relay.on_alarm)
    if hasattr(signals, "setitimer"):
        signals.setitimer(signals.ITIMER_REAL, 1.0, 1.0)


def _kill(pid: int, signum: int) -> None:
    if pid > 0:
        try:
            os.kill(pid, signum)
        except OSError:
            pass


def _note(message: str) -> None:
    """channel.note's line, written here: importing channel loads codec (json) into the stand-in,
    which stays a bare interpreter (its private memory counts in every forked pod's)."""
    pod_id = os.environ.get("PODKEEPER_POD_ID")
    try:
        sys.stderr.write(f"podkeeper_pod{f'[{pod_id}]' if pod_id else ''}: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def run() -> None:
    """The daemon's entry: `python -u -S -c "from podkeeper_pod.via_zygote import run; run()" <recipe_dir> <socket>`."""
    sys.exit(main(sys.argv[1:]))
