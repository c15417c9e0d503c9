"""Deployed mode (worker-tetra's Flash path): a request without code runs pre-deployed code.

A recipe carries `podkeeper.manifest.json` (or the file its config `manifest` names) beside its
`recipe.json`:

    {"functions": {"hello": {"handler": "exec_examples.greetings:hello", "is_async": false},
                   "shout": "exec_examples.greetings:shout"},
     "classes":   {"Counter": {"handler": "exec_examples.counter:Counter"}}}

A request with `function_name` "hello" and no `function_code` calls `hello` of module
`exec_examples.greetings`, imported from the recipe directory (first on sys.path) on first use. The
manifest is checked when the pod starts (a broken one stops it there, naming the entry); modules are
imported on first use, so one that fails to import fails its requests, not the pod. `is_async` says
the function is a coroutine function; whatever it returns is awaited if awaitable in any case, and
a mismatch is logged to the pod's log when the function is first resolved.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import threading

from .errors import NotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_FILE = "podkeeper.manifest.json"
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class ManifestError(Exception):
    """The manifest file is unusable; raised at setup, so the pod does not start on it."""


class Entry:
    __slots__ = ("attribute", "is_async", "module", "name")

    def __init__(self, name: str, target: str, is_async: bool) -> None:
        self.name = name
        self.module, self.attribute = target.split(":", 1)
        self.is_async = is_async

    @property
    def target(self) -> str:
        return f"{self.module}:{self.attribute}"


class Manifest:
    def __init__(self, path: str | None, functions: dict[str, Entry], classes: dict[str, Entry]) -> None:
        self.warn: Callable[[str], None] = lambda _: None
        self.path = path
        self.functions = functions
        self.classes = classes
        self._resolved: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()

    @classmethod
    def empty(cls) -> Manifest:
        return cls(None, {}, {})

    @classmethod
    def load(cls, recipe_dir: str, file: str | None = None) -> Manifest:
        """The recipe's manifest, or an empty one when the default file is absent."""
        path = os.path.join(recipe_dir, file or DEFAULT_FILE)
        if not os.path.isfile(path):
            if file:
                raise ManifestError(f"{path} (config `manifest`) does not exist")
            return cls.empty()
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as error:
            raise ManifestError(f"cannot read {path}: {error}") from None
        if type(data) is not dict:
            raise ManifestError(f"{path} must hold a JSON object with `functions` and/or `classes`")
        unknown = [key for key in data if key not in ("version", "functions", "classes")]
        if unknown:
            raise ManifestError(f"{path}: unknown field `{unknown[0]}` (known: version, functions, classes)")
        return cls(path, _entries(path, data, "functions"), _entries(path, data, "classes"))

    def names(self) -> dict[str, list[str]]:
        return {"functions": sorted(self.functions), "classes": sorted(self.classes)}

    def function(self, name: str) -> tuple[object, Entry]:
        entry = self.functions.get(name)
        if entry is None:
            raise NotFoundError(self._missing("function", name, self.functions, "function_code"))
        return self._resolve(entry, check_async=True), entry

    def cls(self, name: str) -> object:
        entry = self.classes.get(name)
        if entry is None:
            raise NotFoundError(self._missing("class", name, self.classes, "class_code"))
        return self._resolve(entry)

    def _resolve(self, entry: Entry, check_async: bool = False) -> object:
        key = (entry.module, entry.attribute)
        found = self._resolved.get(key)
        if found is not None:
            return found
        with self._lock:  # one import at a time: a module half-imported by another thread is not used
            module = importlib.import_module(entry.module)  # its ImportError is the deployment's error
            found = module
            for part in entry.attribute.split("."):
                found = getattr(found, part, None)
                if found is None:
                    raise NotFoundError(
                        f"deployed {entry.name!r} points at {entry.target}, but module {entry.module!r} "
                        f"has no {entry.attribute!r} ({self.path})"
                    )
            self._resolved[key] = found
        if check_async and _is_coroutine_function(found) != entry.is_async:
            kind = "not an async function" if entry.is_async else "an async function"
            self.warn(
                f"{self.path}: `functions.{entry.name}` says is_async {str(entry.is_async).lower()}, but "
                f"{entry.target} is {kind}; whatever it returns is awaited if awaitable"
            )
        return found

    def _missing(self, kind: str, name: str, entries: dict, field: str) -> str:
        where = f"{os.path.basename(self.path)} deploys: {', '.join(sorted(entries)) or 'no ' + kind + 's'}"
        if self.path is None:
            where = f"this recipe has no {DEFAULT_FILE}"
        return f"{kind} {name!r} not found: the request has no `{field}` and it is not deployed ({where})"


def _is_coroutine_function(fn: object) -> bool:
    code = getattr(fn, "__code__", None)
    return bool(getattr(code, "co_flags", 0) & 0x80)  # CO_COROUTINE, as the runner reads it


def _entries(path: str, data: dict, field: str) -> dict[str, Entry]:
    section = data.get(field) or {}
    if type(section) is not dict:
        raise ManifestError(f'{path}: `{field}` must be an object mapping names to "module:attribute"')
    entries: dict[str, Entry] = {}
    for name, spec in section.items():
        where = f"{path}: `{field}.{name}`"
        if type(spec) is str:
            spec = {"handler": spec}
        if type(spec) is not dict:
            raise ManifestError(f'{where} must be "module:attribute" or an object with `handler`')
        extra = [key for key in spec if key not in ("handler", "is_async")]
        if extra:
            raise ManifestError(f"{where}: unknown field `{extra[0]}` (known: handler, is_async)")
        target = spec.get("handler")
        if type(target) is not str or not _TARGET.match(target):
            raise ManifestError(f'{where}.handler must look like "package.module:function", got {target!r}')
        is_async = spec.get("is_async", False)
        if type(is_async) is not bool:
            raise ManifestError(f"{where}.is_async must be a boolean, got {is_async!r}")
        entries[name] = Entry(name, target, is_async)
    return entries
