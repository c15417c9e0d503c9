"""Per-request capture of stdout, stderr and logging, for the response's `stdout`, `stderr`, `logs`.

    print(), sys.stdout.write ─▶ StreamProxy("stdout") ─┐
    sys.stderr.write ─────────▶ StreamProxy("stderr") ──┼─▶ CURRENT (a ContextVar): this request's Capture
    logging (root) ───────────▶ CaptureHandler ("logs") ┘        └─ none set ─▶ the stream underneath

The response's `stdout` is all three in the order they were written (worker-tetra's field); its
`stderr` and `logs` are those parts alone (docs/architecture.md#recipes).

`sys.stdout` and `sys.stderr` are replaced once, at setup, by proxies that look up the request
running in the current context: a thread's for a sync handler, an asyncio task's for a coroutine. Two
requests running at once (threads or tasks) therefore never see each other's output, which a
`redirect_stdout` per request (process-global) cannot promise. What is not captured, and goes to the
pod's log instead: threads the user's code starts itself (they begin with an empty context), and
writes straight to file descriptors 1 and 2 (C extensions, subprocesses).
"""

from __future__ import annotations

import contextvars
import logging
import sys

LOG_FORMAT = logging.BASIC_FORMAT  # "%(levelname)s:%(name)s:%(message)s", as logging.basicConfig
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}
CURRENT: contextvars.ContextVar[Capture | None] = contextvars.ContextVar("podkeeper_exec_capture", default=None)


SOURCES = ("stdout", "stderr", "logs")


class Capture:
    """The output of one request, in the order it was written, bounded to `limit` characters in all."""

    __slots__ = ("_dropped", "_limit", "_parts", "_size")

    def __init__(self, limit: int) -> None:
        self._parts: list[tuple[str, str]] = []  # (source, text)
        self._size = 0
        self._limit = limit
        self._dropped = 0

    def write(self, text: str, source: str = "stdout") -> None:
        room = self._limit - self._size
        if len(text) > room:
            self._dropped += len(text) - max(room, 0)
            text = text[: max(room, 0)]
        if text:
            self._parts.append((source, text))
            self._size += len(text)

    def text(self, source: str | None = None) -> str:
        """Everything written, in order; or only what came from `source` (stdout, stderr, logs)."""
        out = "".join(text for origin, text in self._parts if source is None or origin == source)
        if self._dropped:
            out += f"\n[podkeeper: output truncated, {self._dropped} more characters]\n"
        try:
            out.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: valid in a str, not on the wire
            out = out.encode("utf-8", "backslashreplace").decode("utf-8")
        return out


class StreamProxy:
    """Stands in for sys.stdout / sys.stderr: the current request's capture, else the real stream."""

    def __init__(self, stream, source: str = "stdout") -> None:
        self._stream = stream
        self._source = source

    def write(self, text: str) -> int:
        capture = CURRENT.get()
        if capture is None:
            return self._stream.write(text)
        if type(text) is not str:
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        capture.write(text, self._source)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if CURRENT.get() is None:
            self._stream.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str):  # encoding, errors, fileno, buffer, ...: the real stream's
        return getattr(self._stream, name)


class CaptureHandler(logging.Handler):
    """Root logging handler: records go to the current request's capture; outside a request,
    warnings and worse go to the pod's log (the root logger has a handler now, so logging's
    last-resort handler no longer would)."""

    def __init__(self, fallback, level: int) -> None:
        super().__init__(level)
        self._fallback = fallback
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            capture = CURRENT.get()
            if capture is not None:
                capture.write(self.format(record) + "\n", "logs")
            elif record.levelno >= logging.WARNING:
                self._fallback.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def install(level: str = "INFO") -> None:
    """Put the proxies in place of sys.stdout/sys.stderr and the handler on the root logger (once)."""
    if isinstance(sys.stdout, StreamProxy):
        return
    sys.stdout = StreamProxy(sys.stdout, "stdout")
    sys.stderr = StreamProxy(sys.stderr, "stderr")
    numeric = _LEVELS.get(level.upper() if isinstance(level, str) else level)
    if numeric is None:
        raise ValueError(f"config `logLevel` must be one of {', '.join(_LEVELS)}, got {level!r}")
    root = logging.getLogger()
    root.addHandler(CaptureHandler(sys.stderr, numeric))
    if root.level > numeric:  # logging.info() from the user's code is captured, not filtered out
        root.setLevel(numeric)
