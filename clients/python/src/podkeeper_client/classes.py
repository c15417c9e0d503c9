"""`RemoteClass`: an instance kept by the pod across calls and clients; `RemoteClassFactory` is
what `@remote` returns for a class."""

from __future__ import annotations

import functools
import inspect
import threading
import warnings

from .calls import Options, execute, execute_stream
from .errors import InstanceLostWarning
from .functions import run_in_thread
from .source import source_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class RemoteClass:
    """An instance of `cls` living in a pod: `RemoteClass(Counter, 5).increment(2)`.

    The instance is created by the first method call and then kept by the pod under `instance_id`;
    every later call, from this object or from another client that `attach`es to the same id, uses
    the same instance. If the pod lost it (restart, or its LRU bound), it is created again from the
    class and constructor arguments this object holds, with an InstanceLostWarning.
    """

    def __init__(self, cls: type, *args: object, _options: Options | None = None, **kwargs: object) -> None:
        self._cls = cls
        self._options = _options or Options()
        self._constructor = (args, kwargs)
        self._source: str | None = None
        self._instance_id: str | None = None
        self._info: dict | None = None
        self._create_lock = threading.Lock()

    @classmethod
    def attach(cls, klass: type | str, instance_id: str, _options: Options | None = None) -> RemoteClass:
        """Use an instance another client created (it is not created again if the pod lost it)."""
        proxy = cls.__new__(cls)
        proxy._cls = klass
        proxy._options = _options or Options()
        proxy._constructor = None
        proxy._source = None
        proxy._instance_id = instance_id
        proxy._info = None
        proxy._create_lock = threading.Lock()
        return proxy

    @property
    def instance_id(self) -> str | None:
        return self._instance_id

    @property
    def instance_info(self) -> dict | None:
        """`class_name`, `created_at`, `method_calls`, `last_used`, as of the last call."""
        return self._info

    @property
    def class_name(self) -> str:
        return self._cls if isinstance(self._cls, str) else self._cls.__name__

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("_"):
            raise AttributeError(name)
        method = None if isinstance(self._cls, str) else getattr(self._cls, name, None)
        if not isinstance(self._cls, str) and method is None:
            raise AttributeError(f"{self._cls.__name__} has no attribute {name!r}")

        def call(*args: object, **kwargs: object) -> object:
            return self.call(name, *args, **kwargs)

        call.__name__ = name
        if method is not None and inspect.iscoroutinefunction(method):

            async def acall(*args: object, **kwargs: object) -> object:
                return await run_in_thread(lambda: self.call(name, *args, **kwargs))

            return acall
        return call

    def call(self, method: str, *args: object, **kwargs: object) -> object:
        """Call `method` on the remote instance (creating it on the first call)."""
        if self._instance_id is None:
            with self._create_lock:  # two threads' first calls must not create two instances
                if self._instance_id is None:
                    return self._call(method, args, kwargs)
        return self._call(method, args, kwargs)

    def release(self) -> bool:
        """Drop the instance in the pod; True if it was there."""
        if self._instance_id is None:
            return False
        result = self._options.connection().call(
            self._options.target, {"instance_id": self._instance_id}, action="release", timeout=self._options.timeout
        )
        return bool(result.get("released"))

    def _call(self, method: str, args: tuple, kwargs: dict) -> object:
        options = self._options
        creating = self._instance_id is None
        request = {
            "execution_type": "class",
            "class_name": self.class_name,
            "method_name": method,
            "instance_id": self._instance_id,
            "create_new_instance": creating,
            **options.base_request(),
            **options.args(args, kwargs),
        }
        if self._constructor is not None:  # can (re)create it: send the class and its arguments
            if self._source is None:
                self._source = source_of(self._cls)
                if self._source is None:
                    raise ValueError(f"the source of class {self._cls.__qualname__} is not available to send")
            request["class_code"] = self._source
            request.update(options.args(*self._constructor, prefix="constructor_"))
        if method in _generator_methods(self._cls):
            return self._stream(request)
        return execute(options, request, lambda response: self._note(response, creating))

    def _stream(self, request: dict) -> Iterator[object]:
        return execute_stream(
            self._options, request, lambda response: self._note(response, request["create_new_instance"])
        )

    def _note(self, response: object, creating: bool) -> None:
        if type(response) is not dict or not response.get("instance_id"):
            return
        if not creating and response.get("instance_created"):
            warnings.warn(
                f"remote instance {response['instance_id']} of {self.class_name} was lost by the pod (restart, or "
                "its bound of kept instances) and has been created again: its state starts over",
                InstanceLostWarning,
                stacklevel=4,
            )
        self._instance_id = response["instance_id"]
        self._info = response.get("instance_info")

    def __repr__(self) -> str:
        return f"<RemoteClass {self.class_name} instance_id={self._instance_id!r} target={self._options.target!r}>"


def _generator_methods(cls: type | str) -> frozenset[str]:
    if isinstance(cls, str):
        return frozenset()
    return frozenset(
        name
        for name, member in inspect.getmembers(cls)
        if inspect.isgeneratorfunction(member) or inspect.isasyncgenfunction(member)
    )


class RemoteClassFactory:
    """What `@remote` returns for a class: calling it makes a RemoteClass instance."""

    def __init__(self, cls: type, options: Options) -> None:
        functools.update_wrapper(self, cls, updated=())
        self.cls = cls
        self.options = options

    def __call__(self, *args: object, **kwargs: object) -> RemoteClass:
        return RemoteClass(self.cls, *args, _options=self.options, **kwargs)

    def attach(self, instance_id: str) -> RemoteClass:
        return RemoteClass.attach(self.cls, instance_id, _options=self.options)
