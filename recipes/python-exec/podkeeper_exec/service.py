"""One `execute` request, from its payload to its FunctionResponse.

    payload ─▶ parse_request ─▶ system_dependencies, dependencies (installed when missing)
            ─▶ the target: function_code | function_pickle | deployed (manifest)
                           class: the kept instance, or a new one (class_code | deployed)
            ─▶ call it, inside this request's output capture
                 ├─ a value ──────────────▶ FunctionResponse (sync handler: answered on this thread)
                 ├─ a generator ──────────▶ each item a chunk, then the response
                 └─ awaitable / async gen ▶ handed back to the runner as a coroutine, awaited on its loop

Every outcome is a FunctionResponse (its shape: response.py): `success` true with `result`
(cloudpickle) or `json_result` (json), or false with `error`, `error_type`, `traceback` (and, with
cloudpickle, the `exception` itself). So at the protocol level an `execute` always succeeds and the
pod keeps serving; only the runner's own failures (cancel, timeout, crash) are protocol errors.
"""

from __future__ import annotations

import weakref
from types import GeneratorType

from .capture import CURRENT, Capture
from .codecs import decode_args, make_codecs
from .dependencies import DependencyInstaller
from .errors import ExecError, NotFoundError, RequestError, error_fields
from .instances import InstanceRegistry
from .manifest import Manifest
from .request import FunctionRequest, parse_request
from .response import build
from .sourcecode import SourceCache
from .system import ensure_system_packages

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def _setting(config: dict, name: str, default: float, minimum: float) -> float:
    value = config.get(name, default)
    if type(value) not in (int, float) or value < minimum:
        raise ValueError(f"config `{name}` must be a number >= {minimum}, got {value!r}")
    return value


class ExecService:
    """What every request of the pod shares: instances, compiled code, installs, the manifest."""

    def __init__(self, recipe_dir: str, config: dict, log: Callable[[str], None]) -> None:
        limit = config.get("maxInstances", 64)
        self.instances = InstanceRegistry(
            limit,
            on_drop=lambda old: log(
                f"dropped instance {old.instance_id} ({old.class_name}): more than {limit} instances, "
                "least recently used first"
            ),
        )
        self.sources = SourceCache()
        self.installer = DependencyInstaller(timeout=_setting(config, "installTimeout", 600, 1))
        self.manifest = Manifest.load(recipe_dir, config.get("manifest"))
        self.manifest.warn = lambda message: log(message)
        self.codecs = make_codecs()
        self.output_limit = int(_setting(config, "maxOutputChars", 1_000_000, 0))
        self.log = log

    def execute(self, payload: object, ctx) -> object:
        """The FunctionResponse, or a coroutine the runner awaits that returns it."""
        capture = Capture(self.output_limit)
        token = CURRENT.set(capture)
        try:
            return _Run(self, ctx, capture).start(payload)
        finally:
            CURRENT.reset(token)

    def info(self) -> dict:
        import sys

        return {
            "python": sys.version.split(" ", 1)[0],
            "instances": self.instances.list(),
            "maxInstances": self.instances.limit,
            "deployed": self.manifest.names(),
            "dependencies": self.installer.ensured,
        }


class _Run:
    """The state of one request while it runs."""

    __slots__ = ("capture", "codec", "created", "ctx", "instance", "modules", "reports", "request", "service")

    def __init__(self, service: ExecService, ctx, capture: Capture) -> None:
        self.service = service
        self.ctx = ctx
        self.capture = capture
        self.request: FunctionRequest | None = None
        self.codec = service.codecs["cloudpickle"]
        self.instance = None
        self.created = False
        self.modules = None  # this request's `modules` (a ModuleDir) until closed or handed to an instance
        self.reports: dict = {}

    def start(self, payload: object) -> object:
        try:
            request = self.request = parse_request(payload)
            for warning in request.warnings:
                self.capture.write(f"WARNING:podkeeper_exec:{warning}\n", "logs")
            self.codec = self.service.codecs[request.serialization]
            self._dependencies(request)
            if request.modules:
                from .modules import ModuleDir

                self.modules = ModuleDir(request.modules)
            target, args, kwargs = self._target(request)
            out = target(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - SystemExit too: the pod keeps serving
            return self.failure(error)
        if type(out) is GeneratorType:
            return self._drain(out)
        if hasattr(out, "__anext__"):
            return self._guard(self._stream(out))
        if hasattr(out, "__await__"):
            return self._guard(self._await(out))
        return self.success(out)

    def _guard(self, coroutine):
        """A coroutine cancelled before its first step never reaches its `finally`: this request's
        modules then go when the runner drops it (a no-op once they went)."""
        if self.modules is not None:
            weakref.finalize(coroutine, self.modules.close)
        return coroutine

    # ------------------------------------------------------------------ before the call

    def _dependencies(self, request: FunctionRequest) -> None:
        def progress(message: str) -> None:
            self.ctx.progress(0.0, message)

        if request.system_dependencies:
            self.reports["system_dependencies"] = ensure_system_packages(request.system_dependencies, progress)
        if request.dependencies:
            self.reports["dependencies"] = self.service.installer.ensure(request.dependencies, progress, self.ctx.log)

    def _target(self, request: FunctionRequest) -> tuple[Callable, list, dict]:
        if request.execution_type == "class":
            self.instance = self._instance(request)
            method = getattr(self.instance.obj, request.method_name, None)
            if method is None or not callable(method):
                public = sorted(
                    name
                    for name in dir(self.instance.obj)
                    if not name.startswith("_") and callable(getattr(self.instance.obj, name, None))
                )
                raise NotFoundError(
                    f"method {request.method_name!r} not found in class {request.class_name!r} "
                    f"(its public methods: {', '.join(public) or 'none'})"
                )
        elif request.function_code is not None:
            method = self.service.sources.load(request.function_code, request.function_name, "function")
        elif request.function_pickle is not None:
            method = self.codec.decode(request.function_pickle, "`function_pickle`", request.cloudpickle_version)
            if not callable(method):
                raise RequestError(f"`function_pickle` holds a {type(method).__name__}, not a function")
        else:
            method, _ = self.service.manifest.function(request.function_name)
        args, kwargs = decode_args(self.codec, request.args, request.kwargs, request.cloudpickle_version)
        return method, args, kwargs

    def _instance(self, request: FunctionRequest):
        registry = self.service.instances
        if request.instance_id is not None and not request.create_new_instance:
            found = registry.get(request.instance_id)
            if found is not None:
                if found.class_name != request.class_name:
                    raise RequestError(
                        f"instance {request.instance_id!r} is a {found.class_name}, not a {request.class_name}"
                    )
                return found
            if request.class_code is None and request.class_name not in self.service.manifest.classes:
                raise NotFoundError(
                    f"instance {request.instance_id!r} not found in this pod (it holds at most "
                    f"{registry.limit} instances, least recently used dropped first, and none survive a pod "
                    "restart), and the request carries no `class_code` to create it again"
                )
        if request.class_code is not None:
            cls = self.service.sources.load(request.class_code, request.class_name, "class")
        else:
            cls = self.service.manifest.cls(request.class_name)
        args, kwargs = decode_args(
            self.codec,
            request.constructor_args,
            request.constructor_kwargs,
            request.cloudpickle_version,
            "constructor_",
        )
        obj = cls(*args, **kwargs)
        self.created = True
        modules, self.modules = self.modules, None  # the instance keeps them: its methods may import them later
        instance_id = request.instance_id or registry.new_id(request.class_name)
        return registry.add(instance_id, request.class_name, obj, modules)

    # ------------------------------------------------------------------ after the call

    def _drain(self, generator: GeneratorType) -> dict:
        """A sync generator: each item is one chunk `{"index", "result"}`; its return value the result."""
        emit, encode, ctx = self.ctx.emit, self.codec.encode, self.ctx
        index = 0
        try:
            while not ctx.cancelled:
                try:
                    item = next(generator)
                except StopIteration as stop:
                    return self.success(stop.value, chunks=index)
                emit({"index": index, "result": encode(item, f"item {index}")})
                index += 1
            return self.failure(ExecError("the request was cancelled"), chunks=index)
        except BaseException as error:  # noqa: BLE001
            return self.failure(error, chunks=index)
        finally:
            generator.close()
            self._close_modules()

    async def _stream(self, iterator) -> dict:
        import asyncio

        token = CURRENT.set(self.capture)
        index = 0
        try:
            while True:
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    return self.success(None, chunks=index)
                self.ctx.emit({"index": index, "result": self.codec.encode(item, f"item {index}")})
                index += 1
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # noqa: BLE001
            return self.failure(error, chunks=index)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
            CURRENT.reset(token)
            self._close_modules()

    async def _await(self, awaitable) -> dict:
        import asyncio

        token = CURRENT.set(self.capture)  # this task's own context: other tasks keep theirs
        try:
            value = await awaitable
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # noqa: BLE001
            return self.failure(error)
        else:
            return self.success(value)
        finally:
            CURRENT.reset(token)
            self._close_modules()

    def success(self, value: object, chunks: int | None = None) -> dict:
        try:
            result = self.codec.encode(value)
        except ExecError as error:
            return self.failure(error, chunks)
        if self.instance is not None:
            self.service.instances.touch(self.instance)
        if self.codec.name == "json":  # worker-tetra's place for a JSON value; `result` is its pickles'
            return self._extras({"success": True, "result": None, "json_result": result}, chunks)
        return self._extras({"success": True, "result": result, "json_result": None}, chunks)

    def failure(self, error: BaseException, chunks: int | None = None) -> dict:
        response = {"success": False, "result": None, "json_result": None, **error_fields(error)}
        if self.codec.name == "cloudpickle" and not isinstance(error, ExecError):
            try:  # the exception itself, so a Python client can raise the very same type
                response["exception"] = self.codec.encode(error.with_traceback(None), "the exception")
            except ExecError:
                pass
        if self.instance is not None and not isinstance(error, (NotFoundError,)):
            self.service.instances.touch(self.instance)
        return self._extras(response, chunks)

    def _extras(self, outcome: dict, chunks: int | None) -> dict:
        self._close_modules()
        return build(outcome, self.capture, self.instance, self.created, chunks, self.reports)

    def _close_modules(self) -> None:
        """This request's `modules` go with it (unless the instance it created keeps them)."""
        modules, self.modules = self.modules, None
        if modules is not None:
            modules.close()
