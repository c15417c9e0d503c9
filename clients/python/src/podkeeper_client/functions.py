"""`RemoteFunction`: what `@remote` returns for a function; each call runs it in the pod."""

from __future__ import annotations

import base64
import functools
import inspect

from .calls import Options, execute, execute_stream
from .source import source_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class RemoteFunction:
    """A function that runs in a pod when called (what `@remote` returns for a function)."""

    def __init__(self, fn: Callable, options: Options) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.options = options
        self._code: dict | None = None

    def request(self, args: tuple, kwargs: dict) -> dict:
        """The FunctionRequest for one call (what is sent to the pod)."""
        if self._code is None:
            self._code = code_fields(self.fn, self.options)
        return {
            "function_name": self.fn.__name__,
            **self._code,
            **self.options.base_request(),
            **self.options.args(args, kwargs),
        }

    def __call__(self, *args: object, **kwargs: object) -> object:
        request = self.request(args, kwargs)
        if inspect.iscoroutinefunction(self.fn):
            return run_in_thread(execute, self.options, request)
        if inspect.isgeneratorfunction(self.fn) or inspect.isasyncgenfunction(self.fn):
            return execute_stream(self.options, request)
        return execute(self.options, request)

    def local(self, *args: object, **kwargs: object) -> object:
        """Run the original function here, in this process."""
        return self.fn(*args, **kwargs)


def code_fields(fn: Callable, options: Options) -> dict:
    source = source_of(fn) if options.send == "source" else None
    if source is not None:
        return {"function_code": source}
    if options.serialization != "cloudpickle":
        raise ValueError(f'{fn.__qualname__} has no source to send, and serialization "json" cannot send it pickled')
    import cloudpickle

    return {"function_pickle": base64.b64encode(cloudpickle.dumps(fn)).decode("ascii")}


async def run_in_thread(function: Callable, *args: object) -> object:
    import asyncio

    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, function, *args)
