"""The reader: one request line at a time, routed to the runner or to the recipe.

    line ─▶ codec.loads ─▶ protocol.parse_request ─▶ recipe action? ─▶ Executor.submit
                │                  │                  ping / cancel / shutdown ─▶ answered here
                └── bad line ──────┴─▶ stderr note, BAD_REQUEST for its id if one can be recovered,
                                          else an `invalid` line (the daemon fails its oldest request)

The thread that reads a request for a sync handler runs it itself (readers.Readers decides who
reads meanwhile). Nothing a line contains may stop the reading; it ends at end of input only, and
`on_end` is called once then.
"""

from __future__ import annotations

import os

from . import codec
from .channel import note
from .protocol import (
    BAD_REQUEST,
    MAX_ID_LENGTH,
    RESERVED_ACTIONS,
    SHUTTING_DOWN,
    UNKNOWN_ACTION,
    ProtocolError,
    failure,
    invalid_message,
    parse_request,
    success,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .channel import Channel
    from .executor import Executor
    from .jobs import Job
    from .loader import Handler
    from .protocol import Request


class Dispatcher:
    def __init__(
        self,
        channel: Channel,
        executor: Executor,
        handlers: dict[str, Handler],
        on_end: Callable[[], None] = lambda: None,
    ) -> None:
        self._channel = channel
        self._executor = executor
        self._handlers = handlers
        self._on_end = on_end
        self._reserved = {"ping": self._ping, "cancel": self._cancel, "shutdown": self._shutdown}
        self._lines: Iterator[bytes] = iter(())

    def run(self) -> None:
        """Read and route request lines until end of input (see readers.Readers for the threads)."""
        from .readers import Readers

        self._lines = self._channel.lines()
        Readers(self.step, self._executor.run_inline, self._on_end, eager=self._executor.concurrency > 1).start()

    def step(self) -> Job | None:
        """Read and route one line; StopIteration at end of input. Never raises for a bad line."""
        try:
            line = next(self._lines)
        except (OSError, ValueError) as error:
            note(f"cannot read requests any more: {error}")
            raise StopIteration from error
        try:
            return self.handle(line)
        except EOFError as error:
            note(f"cannot read requests any more: {error}")
            raise StopIteration from error
        except Exception as error:  # noqa: BLE001 - a runner bug must not stop the reading
            note(f"internal error while handling a request line: {type(error).__name__}: {error}")
            return None

    def handle(self, line: bytes) -> Job | None:
        """Route one line; returns a job the calling thread must run (see Executor.submit)."""
        try:
            obj = codec.loads(line)
        except ValueError as error:
            if line.strip():
                # its frames are read (and dropped) first: never taken for the next request lines
                self._channel.read_frames(codec.tail_frame_lengths(line))
                self._bad(line, None, f"not valid JSON ({error})")
            return None
        if type(obj) is dict and "$frames" in obj:
            try:
                lengths = codec.frame_lengths(obj)
            except ValueError as error:
                self._bad(line, obj, str(error))
                return None
            try:
                obj = codec.attach_frames(obj, self._channel.read_frames(lengths))
            except ValueError as error:
                self._bad(line, obj, str(error))
                return None
        try:
            request = parse_request(obj)
        except ProtocolError as error:
            self._bad(line, obj, str(error))
            return None
        handler = self._handlers.get(request.action)
        if handler is not None:
            return self._executor.submit(request, handler)
        if request.action in self._reserved:
            self._reserved[request.action](request)
        elif self._executor.draining:
            self._fail(request.id, SHUTTING_DOWN, "the pod is shutting down and accepts no new requests")
        else:
            served = ", ".join(self._handlers) or "nothing"
            reserved = ", ".join(RESERVED_ACTIONS)
            message = f"unknown action {request.action!r}: this recipe serves {served} (and the runner: {reserved})"
            self._fail(request.id, UNKNOWN_ACTION, message)
        return None

    # ------------------------------------------------------------------ reserved actions

    def _ping(self, request: Request) -> None:
        self._channel.send(success(request.id, {"pong": True, "pid": os.getpid()}))

    def _cancel(self, request: Request) -> None:
        payload = request.payload
        target = payload.get("id") if type(payload) is dict else None
        if type(target) is not str or not target:
            self._fail(request.id, BAD_REQUEST, 'cancel needs payload {"id": "<request id>"}')
            return
        self._channel.send(success(request.id, {"cancelled": self._executor.cancel(target)}))

    def _shutdown(self, request: Request) -> None:
        self._executor.shutdown(lambda: self._channel.send(success(request.id, {})))

    # ------------------------------------------------------------------ errors

    def _fail(self, request_id: str, code: str, message: str) -> None:
        self._channel.send(failure(request_id, code, message))

    def _bad(self, line: bytes, obj: object, reason: str) -> None:
        shown = line[:200].decode("utf-8", "replace").rstrip("\n")
        note(f"bad request line ({reason}): {shown}{'...' if len(line) > 200 else ''}")
        request_id = _recover_id(line, obj)
        if request_id is not None:
            self._fail(request_id, BAD_REQUEST, f"bad request: {reason}")
        else:
            self._channel.send(invalid_message(BAD_REQUEST, f"bad request line, no id found: {reason}"))


def _recover_id(line: bytes, obj: object) -> str | None:
    """The request's `id` if one can be read even though the request as a whole is invalid."""
    if type(obj) is dict:
        value = obj.get("id")
    elif obj is None:
        import re

        match = re.search(rb'"id"\s*:\s*("(?:[^"\\\n]|\\.){1,%d}")' % MAX_ID_LENGTH, line)
        try:
            value = codec.loads(match.group(1)) if match else None
        except ValueError:
            value = None
    else:
        value = None
    return value if type(value) is str and 0 < len(value) <= MAX_ID_LENGTH else None
