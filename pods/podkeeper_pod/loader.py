"""Reading `recipe.json`, importing the recipe's entry file, and finding its actions.

Entry contract (docs/architecture.md#recipes): optional `setup(ctx)`; `process(payload, ctx)` is the
`process` action; the module-level functions named in an `ACTIONS` tuple are further actions.
Handlers may be plain functions, `async def` coroutines, generators or async generators; which one
is read from the code object's flags, not with `inspect` (kept off the start-up path).
"""

from __future__ import annotations

import os
import sys

from . import codec
from .protocol import MAX_ACTION_LENGTH, RESERVED_ACTIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType, ModuleType

SYNC = "sync"
GENERATOR = "generator"
COROUTINE = "coroutine"
ASYNC_GENERATOR = "async generator"

_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ITERABLE_COROUTINE = 0x100
_CO_ASYNC_GENERATOR = 0x200


class InvocationError(Exception):
    """The runner cannot start at all: bad arguments, missing or unreadable recipe.json (exit 2)."""


class LoadError(Exception):
    """The recipe's entry module does not define a usable set of actions (exit 3)."""


class Recipe:
    """The fields of `recipe.json` the runner uses."""

    __slots__ = ("capability", "concurrency", "config", "entry", "model", "name", "recipe_dir")

    def __init__(
        self,
        recipe_dir: str,
        name: str,
        capability: str,
        entry: str,
        concurrency: int = 1,
        model: str | None = None,
        config: dict | None = None,
    ) -> None:
        self.recipe_dir = recipe_dir
        self.name = name
        self.capability = capability
        self.entry = entry
        self.concurrency = concurrency
        self.model = model
        self.config = {} if config is None else config


def read_recipe(recipe_dir: str) -> Recipe:
    """Read `<recipe_dir>/recipe.json`; raises InvocationError naming the problem."""
    recipe_dir = os.path.abspath(recipe_dir)
    if not os.path.isdir(recipe_dir):
        raise InvocationError(f"recipe directory {recipe_dir} does not exist")
    path = os.path.join(recipe_dir, "recipe.json")
    try:
        with open(path, "rb") as file:
            data = codec.loads(file.read())
    except OSError as error:
        raise InvocationError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise InvocationError(f"{path} is not valid JSON: {error}") from None
    if type(data) is not dict:
        raise InvocationError(f"{path} must hold a JSON object")

    def field(name: str, kind: type, default: object = None, required: bool = False) -> object:
        value = data.get(name)
        value = default if value is None else value  # absent or null: the default
        if (required or value is not None) and (type(value) is not kind or (kind is str and not value)):
            article = "an" if kind.__name__[0] in "aeiou" else "a"
            expected = "a non-empty string" if kind is str else f"{article} {kind.__name__}"
            raise InvocationError(f"{path}: `{name}` must be {expected}, got {value!r}")
        return value

    concurrency = field("concurrency", int, 1)
    if concurrency < 1:
        raise InvocationError(f"{path}: `concurrency` must be an integer >= 1, got {concurrency!r}")
    return Recipe(
        recipe_dir,
        name=field("name", str, required=True),
        capability=field("capability", str, required=True),
        entry=field("entry", str, required=True),
        concurrency=concurrency,
        model=field("model", str),
        config=field("config", dict, {}),
    )


class Handler:
    """One action's function and how it must be driven."""

    __slots__ = ("fn", "is_async", "kind", "name")

    def __init__(self, name: str, fn: Callable[..., object], kind: str | None = None) -> None:
        self.name = name
        self.fn = fn
        self.kind = handler_kind(fn) if kind is None else kind
        self.is_async = self.kind in (COROUTINE, ASYNC_GENERATOR)


def handler_kind(fn: object) -> str:
    """SYNC, GENERATOR, COROUTINE or ASYNC_GENERATOR, from the function's code flags.

    Callables without a code object (partials, callable instances) count as SYNC; the runner then
    looks at what they return (a generator, an awaitable or an async iterator is driven as such).
    """
    code = getattr(fn, "__code__", None) or getattr(getattr(fn, "__func__", None), "__code__", None)
    flags = getattr(code, "co_flags", 0)
    if flags & _CO_ASYNC_GENERATOR:
        return ASYNC_GENERATOR
    if flags & (_CO_COROUTINE | _CO_ITERABLE_COROUTINE):
        return COROUTINE
    if flags & _CO_GENERATOR:
        return GENERATOR
    return SYNC


def load_entry(recipe: Recipe) -> ModuleType:
    """Import the entry file as a module named after its stem, recipe dir first on sys.path.

    Exceptions raised by the recipe's own code propagate unchanged (the caller prints them).
    """
    module_from_spec, spec_from_file_location = _import_machinery()
    path = os.path.join(recipe.recipe_dir, recipe.entry)
    if not os.path.isfile(path):
        raise LoadError(f"entry file {path} (from recipe.json `entry`) does not exist")
    if recipe.recipe_dir not in sys.path[:1]:
        sys.path.insert(0, recipe.recipe_dir)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"entry file {path} cannot be imported as a Python module")
    module = module_from_spec(spec)
    sys.modules[name] = module
    compiled = _compiled.get(path)
    if compiled is not None and compiled[0] == _stamp(path):
        exec(compiled[1], module.__dict__)  # noqa: S102 - the entry's own code, as exec_module() runs it
    else:
        spec.loader.exec_module(module)
    return module


_compiled: dict[str, tuple[tuple[int, int, int, int], CodeType]] = {}  # path: (its stamp, its code)


def compile_entry(recipe_dir: str) -> bool:
    """In a zygote: compile the recipe's entry file once for every pod it forks, which would each
    compile it again (writing ~150 kB of pages shared with the zygote). A pod runs this code only while
    the file's size, mtime and inode are still those it was compiled from. False when it cannot be
    compiled: a pod then imports the file as a spawned one does, and says why it fails."""
    try:
        recipe = read_recipe(recipe_dir)
        path = os.path.join(recipe.recipe_dir, recipe.entry)
        stamp = _stamp(path)  # before reading: a change meanwhile leaves the code stale, never used
        _, spec_from_file_location = _import_machinery()
        spec = spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
        code = spec.loader.get_code(spec.name)  # the import system's own: its .pyc when valid
    except Exception:  # noqa: BLE001 - any failure (a RecursionError on a too-deep entry too): the pod reports it
        return False
    if code is None:
        return False
    _compiled[path] = (stamp, code)
    return True


def _stamp(path: str) -> tuple[int, int, int, int]:
    status = os.stat(path)  # ctime too: any write or utime changes it, even one that keeps size and mtime
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino


def _import_machinery() -> tuple[Callable, Callable]:
    """`module_from_spec` and `spec_from_file_location`. `importlib.util` re-exports them from the
    import system's own modules, which are always loaded; importing it costs ~2 ms of start-up
    (contextlib, collections, functools), so they are taken from the source when it is there."""
    try:
        from _frozen_importlib import module_from_spec
        from _frozen_importlib_external import spec_from_file_location
    except ImportError:  # not CPython's frozen import system
        from importlib.util import module_from_spec, spec_from_file_location
    return module_from_spec, spec_from_file_location


def collect_handlers(module: ModuleType) -> dict[str, Handler]:
    """`process` (if defined) then each name in `ACTIONS`, in order; raises LoadError if unusable."""
    where = getattr(module, "__file__", module.__name__)
    names: list[str] = ["process"] if hasattr(module, "process") else []
    declared = getattr(module, "ACTIONS", ())
    if not isinstance(declared, (tuple, list)) or not all(type(name) is str for name in declared):
        raise LoadError(f"{where}: ACTIONS must be a tuple of function names, got {declared!r}")
    names += [name for name in declared if name not in names]
    if not names:
        raise LoadError(f"{where} defines no actions: add process(payload, ctx) or an ACTIONS tuple")
    handlers: dict[str, Handler] = {}
    for name in names:
        if name in RESERVED_ACTIONS:
            raise LoadError(f"{where}: action {name!r} is reserved by the runner ({', '.join(RESERVED_ACTIONS)})")
        if not name or len(name) > MAX_ACTION_LENGTH:
            raise LoadError(f"{where}: action names must be 1 to {MAX_ACTION_LENGTH} characters, got {name!r}")
        fn = getattr(module, name, None)
        if not callable(fn):
            raise LoadError(f"{where}: action {name!r} must be a module-level function, got {fn!r}")
        handlers[name] = Handler(name, fn)
    return handlers


def find_setup(module: ModuleType) -> Handler | None:
    setup = getattr(module, "setup", None)
    if setup is None:
        return None
    if not callable(setup):
        raise LoadError(f"{getattr(module, '__file__', module.__name__)}: setup must be a function, got {setup!r}")
    handler = Handler("setup", setup)
    if handler.kind in (GENERATOR, ASYNC_GENERATOR):
        raise LoadError(f"{module.__file__}: setup must not be a generator")
    return handler
