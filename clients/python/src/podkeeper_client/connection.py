"""`Podkeeper`: one connection to the daemon's Unix socket, speaking the control protocol (docs/protocol.md).

    caller thread ── request(action, payload) ──▶ send one line (under the write lock)
         ▲  waits on its own queue                          │
         └── events (progress, chunk) and the final line ◀── reader thread: routes each line by `id`

Many requests may be in flight at once on one connection, from any number of threads. When the
connection ends, every waiting request fails with `CHANNEL_CLOSED`.
"""

from __future__ import annotations

import itertools
import json
import queue
import socket as _socket
import threading

from .errors import PodkeeperError
from .location import default_socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from typing_extensions import Self

_CLOSED = object()


class Podkeeper:
    """A client of one podkeeper daemon.

    >>> with Podkeeper() as pk:
    ...     pk.call("echo", {"text": "hi"})
    {'text': 'hi'}
    """

    def __init__(self, socket: str | None = None, home: str | None = None, connect_timeout: float = 5.0) -> None:
        self.socket_path = socket or default_socket(home)
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(connect_timeout)
        try:
            sock.connect(self.socket_path)
        except (FileNotFoundError, ConnectionRefusedError) as error:
            sock.close()
            raise PodkeeperError(
                "DAEMON_NOT_RUNNING",
                f"no podkeeper daemon accepts on {self.socket_path} ({error.strerror}); "
                f"start one with `podkeeper daemon --socket {self.socket_path}`",
                {"socket": self.socket_path},
            ) from None
        except OSError:
            sock.close()
            raise
        sock.settimeout(None)
        self._sock = sock
        self._ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending: dict[int, queue.SimpleQueue] = {}
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="podkeeper-client-reader", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ actions

    def call(
        self,
        target: str,
        input: object = None,
        action: str = "process",
        timeout: float | None = None,
        keep_alive: float | None = None,
        on_event: Callable[[dict], None] | None = None,
    ) -> object:
        """Call a recipe (by name or capability); returns the pod's result."""
        return self.request("call", _call_payload(target, input, action, timeout, keep_alive), on_event)

    def stream(
        self,
        target: str,
        input: object = None,
        action: str = "process",
        timeout: float | None = None,
        keep_alive: float | None = None,
    ) -> Iterator[dict]:
        """A call's events (`{"type": "chunk", ...}`, `{"type": "progress", ...}`) as they arrive; the
        generator's return value (StopIteration.value) is the result."""
        return self.request_stream("call", _call_payload(target, input, action, timeout, keep_alive))

    def status(self) -> dict:
        return self.request("status")

    def pods(self) -> list[dict]:
        return self.request("pods.list")["pods"]

    def stop(self, target: str | None = None, pod_id: str | None = None, all: bool = False) -> list[dict]:
        payload = {"all": True} if all else {"podId": pod_id} if pod_id else {"target": target}
        return self.request("pods.stop", payload)["pods"]

    def gc(self) -> dict:
        """Remove the Python envs no known recipe needs: `{"removed": [...], "freedBytes": N, "kept": [...]}` with reasons."""
        return self.request("gc")

    # ------------------------------------------------------------------ requests

    def request(self, action: str, payload: object = None, on_event: Callable[[dict], None] | None = None) -> object:
        """Send one request and wait for its final line; events go to `on_event`."""
        stream = self.request_stream(action, payload)
        while True:
            try:
                event = next(stream)
            except StopIteration as done:
                return done.value
            if on_event is not None:
                on_event(event)

    def request_stream(self, action: str, payload: object = None) -> Iterator[dict]:
        request_id, waiting = self._send(action, payload)
        return self._events(request_id, waiting)

    def _send(self, action: str, payload: object) -> tuple[int, queue.SimpleQueue]:
        request_id = next(self._ids)
        waiting: queue.SimpleQueue = queue.SimpleQueue()
        message = {"id": request_id, "action": action}
        if payload is not None:
            message["payload"] = payload
        line = _encode(message)
        with self._lock:
            if self._closed:
                raise PodkeeperError("CHANNEL_CLOSED", f"the connection to {self.socket_path} is closed")
            self._pending[request_id] = waiting
        try:
            with self._write_lock:
                self._sock.sendall(line)
        except OSError as error:
            self._forget(request_id)
            raise PodkeeperError("CHANNEL_CLOSED", f"cannot write to {self.socket_path}: {error}") from None
        return request_id, waiting

    def _events(self, request_id: int, waiting: queue.SimpleQueue) -> Iterator[dict]:
        finished = False
        try:
            while True:
                message = waiting.get()
                if message is _CLOSED:
                    finished = True
                    raise PodkeeperError("CHANNEL_CLOSED", f"the connection to {self.socket_path} ended")
                if "type" in message:
                    yield message
                    continue
                finished = True
                if message.get("success"):
                    return message.get("result")
                error = message.get("error") or {}
                details = {k: v for k, v in error.items() if k not in ("code", "message")}
                raise PodkeeperError(error.get("code", "INTERNAL_ERROR"), error.get("message", ""), details)
        finally:
            self._forget(request_id)
            if not finished:  # the caller left early (Ctrl-C, or stopped iterating): cancel it
                self._cancel(request_id)

    def _cancel(self, request_id: int) -> None:
        try:
            self._send("cancel", {"id": request_id})
        except PodkeeperError:
            pass

    def _forget(self, request_id: int) -> None:
        with self._lock:
            self._pending.pop(request_id, None)

    # ------------------------------------------------------------------ reading

    def _read(self) -> None:
        try:
            reader = self._sock.makefile("rb")
            for line in reader:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if type(message) is not dict:
                    continue
                if "$frames" in message:
                    message = _attach(message, [_read_exactly(reader, n) for n in message.pop("$frames")])
                with self._lock:
                    waiting = self._pending.get(message.get("id"))
                if waiting is not None:
                    waiting.put(message)
        except OSError:
            pass
        finally:
            with self._lock:
                self._closed = True
                waiting_all = list(self._pending.values())
            for waiting in waiting_all:
                waiting.put(_CLOSED)

    def close(self) -> None:
        """Close the connection: calls still in flight are cancelled by the daemon."""
        with self._lock:
            self._closed = True
        try:
            self._sock.shutdown(_socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Podkeeper(socket={self.socket_path!r})"


def _encode(message: dict) -> bytes:
    """One request line, then the frames of its bytes (docs/protocol.md#bytes). Every request says
    `$frames` (`[]` without bytes), so bytes in its answer come as frames too."""
    frames: list = []

    def as_frame(value: object) -> object:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        frames.append(value)
        return {"$bytes": len(frames) - 1}

    text = json.dumps(message, separators=(",", ":"), allow_nan=False, default=as_frame)
    lengths = ",".join(str(memoryview(frame).nbytes) for frame in frames)
    line = f'{text[:-1]},"$frames":[{lengths}]}}\n'.encode()
    return b"".join((line, *frames)) if frames else line


def _read_exactly(reader, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise OSError(f"the connection ended inside a frame ({len(data)} of {size} bytes)")
    return data


def _attach(value: object, frames: list[bytes]) -> object:
    """`value` with each `{"$bytes": i}` replaced by frame `i`."""
    if type(value) is list:
        return [_attach(item, frames) for item in value]
    if type(value) is not dict:
        return value
    if len(value) == 1 and type(value.get("$bytes")) is int and 0 <= value["$bytes"] < len(frames):
        return frames[value["$bytes"]]
    return {key: _attach(item, frames) for key, item in value.items()}


def _call_payload(target: str, input: object, action: str, timeout: float | None, keep_alive: float | None) -> dict:
    payload: dict = {"target": target, "action": action, "input": {} if input is None else input}
    if timeout is not None:
        payload["timeout"] = timeout
    if keep_alive is not None:
        payload["keepAlive"] = keep_alive
    return payload
