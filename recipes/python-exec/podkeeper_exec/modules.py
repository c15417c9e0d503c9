"""A request's `modules` (runpod-flash's local, non-pip modules), importable while they are needed.

    {"utils.py": "...", "helpers/__init__.py": "...", "helpers/text.py": "..."}
        ─▶ refused when a top-level name is a standard library module, or one already imported
           from anywhere but an earlier request's modules (dropping it would break its users)
        ─▶ written under a new temporary directory, put first on sys.path; an earlier request's
           copies of the same top-level names are dropped from sys.modules first
        ─▶ closed with the request (a function), or with the kept instance the request created (a
           class: its methods may import them on later calls): off sys.path, its modules dropped
           from sys.modules, the directory removed

sys.path and sys.modules are the process's: two requests running at once that send different
modules under the same name see one of them (worker-tetra runs one request at a time).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import shutil
import sys
import sysconfig
import tempfile
import threading

from .errors import RequestError

_LOCK = threading.Lock()
_PREFIX = "pk-exec-modules-"


def _check_path(path: str) -> list[str]:
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or "\0" in path or any(p in ("", ".", "..") for p in parts):
        raise RequestError(
            f"`modules` key {path!r} must be a relative POSIX path inside the module directory "
            '(like "utils.py" or "helpers/__init__.py")'
        )
    return parts


def _check_shadowing(top: str, path: str) -> None:
    """Refuse a sent module that would replace the standard library's or one already imported."""
    if _is_stdlib(top):
        raise RequestError(
            f"`modules` file {path!r} has the name of the standard library module {top!r}: "
            "rename it (sending it would replace the real module for every request of this pod)"
        )
    imported = [module for name, module in list(sys.modules.items()) if name.split(".", 1)[0] == top]
    if any(not _from_sent_modules(module) for module in imported):
        raise RequestError(
            f"`modules` file {path!r} has the name of {top!r}, already imported in this pod from "
            "elsewhere (a dependency, or the runner): rename it"
        )


def _from_sent_modules(module: object) -> bool:
    """Whether a module was imported from some request's `modules` (a pk-exec-modules- directory)."""
    file = getattr(module, "__file__", None)
    paths = [file] if file else list(getattr(module, "__path__", None) or ())  # a namespace package
    return bool(paths) and all(type(path) is str and _in_sent_dir(path) for path in paths)


def _in_sent_dir(path: str) -> bool:
    return os.path.relpath(path, tempfile.gettempdir()).startswith(_PREFIX)


def _is_stdlib(top: str) -> bool:
    names = getattr(sys, "stdlib_module_names", None)  # Python >= 3.10
    if names is not None:
        return top in names
    # 3.9: a built-in module, or one found in the standard library's directories
    if top in sys.builtin_module_names:
        return True
    paths = sysconfig.get_paths()
    stdlib = [paths["stdlib"], paths["platstdlib"], os.path.join(paths["platstdlib"], "lib-dynload")]
    return importlib.machinery.PathFinder.find_spec(top, stdlib) is not None


class ModuleDir:
    """The files of one request's `modules`, on sys.path until `close()`."""

    __slots__ = ("_closed", "path")

    def __init__(self, files: dict[str, str]) -> None:
        checked = {path: _check_path(path) for path in files}
        tops = {}
        for path, parts in checked.items():
            tops.setdefault(parts[0].removesuffix(".py"), path)
        with _LOCK:
            for top, path in tops.items():
                _check_shadowing(top, path)
        self.path = tempfile.mkdtemp(prefix=_PREFIX)
        self._closed = False
        try:
            for name, parts in checked.items():
                target = os.path.join(self.path, *parts)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w", encoding="utf-8") as handle:
                    handle.write(files[name])
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        with _LOCK:
            for name, module in list(sys.modules.items()):  # a copy: other threads may be importing
                if name.split(".", 1)[0] in tops and _from_sent_modules(module) and not self._owns(module):
                    sys.modules.pop(name, None)  # an earlier request's copy: import this request's
            sys.path.insert(0, self.path)
        importlib.invalidate_caches()

    def _under(self, path: object) -> bool:
        return type(path) is str and (path == self.path or path.startswith(self.path + os.sep))

    def _owns(self, module: object) -> bool:
        file = getattr(module, "__file__", None)
        if file:
            return self._under(file)
        paths = list(getattr(module, "__path__", None) or ())  # a namespace package: its directories
        return bool(paths) and all(self._under(path) for path in paths)

    def close(self) -> None:
        with _LOCK:
            if self._closed:
                return
            self._closed = True
            while self.path in sys.path:
                sys.path.remove(self.path)
            for entry in [entry for entry in sys.path_importer_cache if self._under(entry)]:
                del sys.path_importer_cache[entry]
            for name, module in list(sys.modules.items()):
                if self._owns(module):
                    sys.modules.pop(name, None)
        shutil.rmtree(self.path, ignore_errors=True)


def open_modules(files: dict[str, str]) -> ModuleDir | None:
    """The request's modules on sys.path, or None when it sends none."""
    return ModuleDir(files) if files else None
