"""The reader thread: one request line at a time, routed to the runner or to the recipe.

    line ─▶ codec.loads ─▶ protocol.parse_request ─▶ recipe action? ─▶ Executor.submit
                │                  │                  ping / cancel / shutdown ─▶ answered here
                └── bad line ──────┴─▶ stderr note, BAD_REQUEST if an id can be recovered

Nothing a line contains may stop this loop; it ends at end of input only.
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
    parse_request,
    success,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .channel import Channel
    from .executor import Executor
    from .loader import Handler
    from .protocol import Request


class Dispatcher:
    def __init__(self, channel: Channel, executor: Executor, handlers: dict[str, Handler]) -> None:
        self._channel = channel
        self._executor = executor
        self._handlers = handlers
        self._reserved = {"ping": self._ping, "cancel": self._cancel, "shutdown": self._shutdown}

    def run(self) -> None:
        """Read and route request lines until end of input."""
        try:
            for line in self._channel.lines():
                try:
                    self.handle(line)
                except Exception as error:  # noqa: BLE001 - a runner bug must not stop the reading
                    note(f"internal error while handling a request line: {type(error).__name__}: {error}")
        except (OSError, ValueError) as error:
            note(f"cannot read requests any more: {error}")

    def handle(self, line: bytes) -> None:
        try:
            obj = codec.loads(line)
        except ValueError as error:
            if line.strip():
                self._bad(line, None, f"not valid JSON ({error})")
            return
        try:
            request = parse_request(obj)
        except ProtocolError as error:
            self._bad(line, obj, str(error))
            return
        handler = self._handlers.get(request.action)
        if handler is not None:
            self._executor.submit(request, handler)
        elif request.action in self._reserved:
            self._reserved[request.action](request)
        elif self._executor.draining:
            self._fail(request.id, SHUTTING_DOWN, "the pod is shutting down and accepts no new requests")
        else:
            served = ", ".join(self._handlers) or "nothing"
            reserved = ", ".join(RESERVED_ACTIONS)
            message = f"unknown action {request.action!r}: this recipe serves {served} (and the runner: {reserved})"
            self._fail(request.id, UNKNOWN_ACTION, message)

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
