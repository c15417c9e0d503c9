"""The bridge's stdio: the protocol's fds taken before Ray is imported, and its own coded lines.

fd 1 (daemon's pipe) --dup--> private fd : runner lines relayed, the bridge's own `log` lines
fd 2 (stderr)        --dup2-> fd 1       : whatever Ray or a library prints lands in the pod's log
fd 0 (daemon's pipe) --dup--> private fd : request bytes relayed to the actor
/dev/null            --dup2-> fd 0
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

PREFIX = "podkeeper-bridge:"


class Channel:
    def __init__(self, out_fd: int, in_fd: int) -> None:
        self._out_fd = out_fd
        self._in_fd = in_fd
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._out_fd, view)
                view = view[written:]

    def log(self, level: str, message: str) -> None:
        """A protocol `log` line: it keeps the daemon's ready stall timer alive while we wait."""
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int((now % 1) * 1000):03d}Z"
        line = {"type": "log", "level": level, "message": message, "timestamp": stamp}
        self.write((json.dumps(line) + "\n").encode())

    def chunks(self):
        """Request bytes as they arrive, until end of input."""
        while True:
            try:
                data = os.read(self._in_fd, 1 << 16)
            except OSError:
                return
            if not data:
                return
            yield data


def claim() -> Channel:
    out_fd = os.dup(1)
    in_fd = os.dup(0)
    sys.stdout.flush()
    os.dup2(2, 1)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.close(null_fd)
    sys.stdout = sys.stderr
    return Channel(out_fd, in_fd)


def note(message: str) -> None:
    write_stderr(f"{PREFIX} {message}\n".encode())


def report_failure(code: str, message: str) -> None:
    """The last line of a bridge that failed: the daemon reads the code from it."""
    write_stderr(f"{PREFIX} failure {json.dumps({'code': code, 'message': message})}\n".encode())


def report_event(name: str, fields: dict) -> None:
    write_stderr(f"{PREFIX} {name} {json.dumps(fields)}\n".encode())


def write_stderr(data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(2, view) :]
    except OSError:
        pass


def exit_like(status: int) -> None:
    """Exit as the runner did: its exit code, or death by its signal (a Popen-style status)."""
    if status < 0:
        import signal

        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        time.sleep(1)
    os._exit(status if status >= 0 else 1)
