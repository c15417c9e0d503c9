"""`@remote` and `RemoteClass`: run a local function or class in a podkeeper pod (the `python-exec` recipe).

    @remote(dependencies=["numpy"])          f(2) ─▶ FunctionRequest {function_name, function_code,
    def f(x): ...                                      args: [b64 cloudpickle], dependencies, ...}
                                                  ─▶ daemon `call` python-exec / execute ─▶ pod
                                             ◀── FunctionResponse: result unpickled, or the remote
                                                 exception raised here with the remote traceback

What is sent: the function's source (`send="source"`, the default, as worker-tetra's clients do),
so the pod needs no copy of your module; imports the function uses belong inside it. Functions
without source (lambdas, the REPL) are sent as cloudpickle, which needs the same cloudpickle and
Python minor version in the pod (`send="pickle"` forces it). `async def` functions give coroutines
(the call runs in a thread); generator functions give iterators whose items stream in as the pod
yields them.
"""

from __future__ import annotations

import inspect

from .calls import DEFAULT_TARGET, Options
from .classes import RemoteClassFactory
from .functions import RemoteFunction

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .connection import Podkeeper


def remote(
    fn: Callable | type | None = None,
    *,
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
):
    """Run a function (or a class's instances) in a podkeeper pod.

    `dependencies` are installed into the pod's env when missing (once per pod). `echo` writes the
    remote stdout/stderr/logging of each call to this process's stdout. `timeout` is the daemon's
    (seconds without an answer or progress); `keep_alive` how long the pod stays after the call.
    """
    options = Options(
        dependencies, system_dependencies, target, client, socket, serialization, send, timeout, keep_alive, echo
    )

    def wrap(obj: Callable | type):
        if inspect.isclass(obj):
            return RemoteClassFactory(obj, options)
        return RemoteFunction(obj, options)

    return wrap(fn) if fn is not None else wrap
