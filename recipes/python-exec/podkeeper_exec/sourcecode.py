"""Turning `function_code` / `class_code` into the function or class the request names.

Each request runs the code in a fresh namespace (module-level state does not leak from one request
to the next; use a class instance for state). Compiling is the costly part, so code objects are
cached by source text, least recently used dropped first. The source is registered with `linecache`
under the code's file name, so a traceback shows the user's lines, as for a file.
"""

from __future__ import annotations

import builtins
import hashlib
import linecache
import threading
from collections import OrderedDict

from .errors import NotFoundError

MODULE_NAME = "__podkeeper_exec__"


class SourceCache:
    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._codes: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, source: str, name: str, kind: str) -> object:
        """Run `source` in a fresh namespace and return its top-level `name` (a function or class).

        SyntaxError and whatever the code raises while it runs propagate (they are the user's).
        """
        code = self._compile(source, kind)
        namespace = {"__name__": MODULE_NAME, "__builtins__": builtins}
        exec(code, namespace)  # noqa: S102 - running the caller's code is this recipe's purpose
        found = namespace.get(name)
        if found is None:
            defined = sorted(key for key, value in namespace.items() if not key.startswith("__") and callable(value))
            listing = ", ".join(defined) if defined else "nothing callable"
            raise NotFoundError(f"{kind} {name!r} not found in `{kind}_code` (it defines: {listing})")
        if not callable(found):
            raise NotFoundError(f"`{kind}_code` defines {name!r}, but it is a {type(found).__name__}, not a {kind}")
        return found

    def _compile(self, source: str, kind: str) -> object:
        with self._lock:
            code = self._codes.get(source)
            if code is not None:
                self._codes.move_to_end(source)
                return code
        digest = hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        filename = f"<{kind}_code {digest}>"
        code = compile(source, filename, "exec", dont_inherit=True)  # SyntaxError: the user's
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        with self._lock:
            self._codes[source] = code
            while len(self._codes) > self._limit:
                _, old = self._codes.popitem(last=False)
                linecache.cache.pop(old.co_filename, None)
        return code
