"""The protocol channel: private copies of fds 0 and 1, one locked writer, one line reader.

`claim_stdio()` runs before the recipe is imported:

    fd 1 (daemon's pipe) --dup--> private fd (non-inheritable) : protocol lines out, via Channel.send
    fd 2 (stderr)        --dup2-> fd 1, and sys.stdout = sys.stderr : print() and C writes to fd 1
    fd 0 (daemon's pipe) --dup--> private fd (non-inheritable) : protocol lines in, via Channel.lines
    /dev/null            --dup2-> fd 0 : a subprocess of a handler can never eat a request

The channel knows framing only (one JSON object per line); it knows no message schema.
"""

from __future__ import annotations

import os
import sys
from _thread import allocate_lock

from . import codec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class Channel:
    """Protocol line writer (thread-safe, one whole line per write) and reader."""

    def __init__(self, out_fd: int, in_fd: int | None = None) -> None:
        self._out_fd = out_fd
        self._in_fd = in_fd
        self._lock = allocate_lock()
        self._broken = False
        self.on_broken: Callable[[], None] | None = None

    def send(self, message: object) -> None:
        """Encode and write one message; raises TypeError/ValueError if it is not JSON-serialisable."""
        self.send_line(codec.encode_line(message))

    def send_line(self, line: bytes) -> None:
        """Write one encoded line (ending in `\\n`) atomically with respect to other writers."""
        with self._lock:
            if self._broken:
                return
            try:
                written = os.write(self._out_fd, line)
                while written < len(line):  # a partial write: only for lines larger than the pipe
                    written += os.write(self._out_fd, line[written:])
            except OSError:  # EPIPE (SIGPIPE is ignored) or EBADF: the daemon is gone
                self._broken = True
        if self._broken and self.on_broken is not None:
            self.on_broken()

    def lines(self) -> Iterator[bytes]:
        """Request lines, as they arrive, until end of input."""
        if self._in_fd is None:
            return iter(())
        self._reader = open(self._in_fd, "rb", buffering=1 << 16)  # noqa: SIM115 - lives as long as the pod
        return iter(self._reader)

    def read_frames(self, lengths: list[int]) -> list[bytes]:
        """The raw frames that follow a line announcing them; EOFError when the input ends first.
        Called by the thread that read the line, before anyone reads the next one."""
        frames = []
        for length in lengths:
            data = self._reader.read(length)
            if len(data) != length:
                raise EOFError(f"the input ended inside a frame ({len(data)} of {length} bytes)")
            frames.append(data)
        return frames


def claim_stdio() -> Channel:
    """Move the protocol off fds 0/1 so nothing but the runner can touch it (see module doc)."""
    out_fd = os.dup(1)  # os.dup creates non-inheritable descriptors
    in_fd = os.dup(0)
    _widen_pipes(in_fd, out_fd)
    sys.stdout.flush()
    os.dup2(2, 1)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    if null_fd != 0:
        os.dup2(null_fd, 0)
        os.close(null_fd)
    sys.stdout = sys.stderr
    return Channel(out_fd, in_fd)


def _widen_pipes(*fds: int) -> None:
    """Linux: 1 MiB pipes instead of 64 KiB, so a big message crosses in 16 turns instead of 256."""
    try:
        import fcntl

        for fd in fds:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, not a pipe, or over pipe-max-size
        pass


PIPE_BYTES = 1 << 20


def note(message: str) -> None:
    """A runner diagnostic on stderr (the daemon keeps stderr as the pod's log)."""
    pod_id = os.environ.get("PODKEEPER_POD_ID")
    try:
        sys.stderr.write(f"podkeeper_pod{f'[{pod_id}]' if pod_id else ''}: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
