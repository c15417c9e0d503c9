"""One FunctionRequest to the python-exec pod and its FunctionResponse back: what every `@remote`
call shares. `Options` is what a decorator was given; `execute`/`execute_stream` send one request;
`finish` decodes the result or raises the remote exception here (see errors.py)."""

from __future__ import annotations

import atexit
import base64
import sys
import threading

from .connection import Podkeeper
from .errors import PodkeeperError, RemoteError, RemoteTraceback

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

DEFAULT_TARGET = "python-exec"
_clients: dict[str | None, Podkeeper] = {}
_clients_lock = threading.Lock()


def default_client(socket: str | None = None) -> Podkeeper:
    """One shared connection per socket path (None: the default socket), opened on first use."""
    with _clients_lock:
        client = _clients.get(socket)
        if client is None or client._closed:
            client = _clients[socket] = Podkeeper(socket=socket)
        return client


@atexit.register
def _close_clients() -> None:
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


class Options:
    """What every request of one `@remote` (or RemoteClass) carries."""

    __slots__ = (
        "client",
        "dependencies",
        "echo",
        "keep_alive",
        "send",
        "serialization",
        "socket",
        "system_dependencies",
        "target",
        "timeout",
    )

    def __init__(
        self,
        dependencies: list[str] | None = None,
        system_dependencies: list[str] | None = None,
        target: str = DEFAULT_TARGET,
        client: Podkeeper | None = None,
        socket: str | None = None,
        serialization: str = "cloudpickle",
        send: str = "source",
        timeout: float | None = None,
        keep_alive: float | None = None,
        echo: bool = True,
    ) -> None:
        if serialization not in ("cloudpickle", "json"):
            raise ValueError(f'serialization must be "cloudpickle" or "json", got {serialization!r}')
        if send not in ("source", "pickle"):
            raise ValueError(f'send must be "source" or "pickle", got {send!r}')
        if send == "pickle" and serialization != "cloudpickle":
            raise ValueError('send="pickle" needs serialization="cloudpickle"')
        self.dependencies = list(dependencies or [])
        self.system_dependencies = list(system_dependencies or [])
        self.target = target
        self.client = client
        self.socket = socket
        self.serialization = serialization
        self.send = send
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.echo = echo

    def connection(self) -> Podkeeper:
        return self.client if self.client is not None else default_client(self.socket)

    def encode(self, value: object) -> object:
        if self.serialization == "json":
            return value
        import cloudpickle

        return base64.b64encode(cloudpickle.dumps(value)).decode("ascii")

    def decode(self, value: object) -> object:
        if self.serialization == "json":
            return value
        import pickle

        return pickle.loads(base64.b64decode(value))

    def base_request(self) -> dict:
        request: dict = {"serialization_format": self.serialization}
        if self.serialization == "cloudpickle":  # named by the pod if one of our pickles does not load there
            request["cloudpickle_version"] = _cloudpickle_version()
        if self.dependencies:
            request["dependencies"] = self.dependencies
        if self.system_dependencies:
            request["system_dependencies"] = self.system_dependencies
        return request

    def args(self, args: tuple, kwargs: dict, prefix: str = "") -> dict:
        return {
            f"{prefix}args": [self.encode(value) for value in args],
            f"{prefix}kwargs": {key: self.encode(value) for key, value in kwargs.items()},
        }


def _cloudpickle_version() -> str:
    import cloudpickle

    return cloudpickle.__version__


def execute(options: Options, request: dict, on_response: Callable[[object], None] | None = None) -> object:
    """Send one FunctionRequest; the decoded result, or the remote exception raised here.

    `on_response` sees the raw response first (a remote class notes its instance from it)."""
    response = options.connection().call(
        options.target, request, action="execute", timeout=options.timeout, keep_alive=options.keep_alive
    )
    if on_response is not None:
        on_response(response)
    return finish(options, response)


def execute_stream(
    options: Options, request: dict, on_response: Callable[[object], None] | None = None
) -> Iterator[object]:
    """Send one FunctionRequest to a generator; yields each decoded item as it arrives.

    `on_response` sees the raw final response first (a remote class notes its instance from it)."""
    events = options.connection().stream(
        options.target, request, action="execute", timeout=options.timeout, keep_alive=options.keep_alive
    )
    while True:
        try:
            event = next(events)
        except StopIteration as done:
            if on_response is not None:
                on_response(done.value)
            return finish(options, done.value)
        if event.get("type") == "chunk" and isinstance(event.get("data"), dict):
            yield options.decode(event["data"].get("result"))


def finish(options: Options, response: object) -> object:
    if type(response) is not dict or "success" not in response:
        raise PodkeeperError("BAD_RESPONSE", f"{options.target} did not answer with a FunctionResponse: {response!r}")
    if options.echo and response.get("stdout"):
        sys.stdout.write(response["stdout"])
    if response["success"]:
        if options.serialization == "json":
            return response.get("json_result")
        return options.decode(response.get("result"))
    raise_remote(options, response)
    return None  # not reached


def raise_remote(options: Options, response: dict) -> None:
    error_type = response.get("error_type") or "Exception"
    trace = response.get("traceback") or ""
    message = response.get("error") or error_type
    if trace and message.endswith(trace):
        message = message[: -len(trace)].rstrip("\n")
    cause = RemoteTraceback(trace) if trace else None
    pickled = response.get("exception")
    if pickled and options.serialization == "cloudpickle":
        try:
            error = options.decode(pickled)
        except Exception:  # noqa: BLE001 - an exception class that does not unpickle here
            error = None
        if isinstance(error, BaseException):
            raise error from cause
    raise RemoteError(error_type, message, trace, response) from cause
