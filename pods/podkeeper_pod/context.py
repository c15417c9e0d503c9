"""`ctx`: what a recipe's `setup(ctx)` and handlers `fn(payload, ctx)` receive.

One `Pod` holds what every request shares (config, model, dirs, `state`, the channel's send);
each request gets a small `Context` bound to its id. The setup context has `request_id` None.
"""

from __future__ import annotations

import os

from . import protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class Pod:
    """What all contexts of one runner share."""

    __slots__ = ("_cache_dir", "_cache_ready", "config", "model", "recipe_dir", "send", "state")

    def __init__(
        self,
        send: Callable[[dict], None],
        recipe_dir: str,
        config: dict | None = None,
        model: str | None = None,
        cache_dir: str | None = None,
    ) -> None:
        self.send = send
        self.recipe_dir = recipe_dir
        self.config = {} if config is None else config
        self.model = model
        self.state: dict = {}
        self._cache_dir = cache_dir or os.path.join(recipe_dir, ".cache")
        self._cache_ready = False

    @classmethod
    def from_environment(cls, send: Callable[[dict], None], recipe_dir: str, config: dict, model: str | None) -> Pod:
        """Apply `PODKEEPER_MODEL_PATH` and `PODKEEPER_CACHE_DIR` over the recipe's values."""
        env = os.environ
        return cls(send, recipe_dir, config, env.get("PODKEEPER_MODEL_PATH") or model, env.get("PODKEEPER_CACHE_DIR"))

    def cache_dir(self) -> str:
        if not self._cache_ready:
            os.makedirs(self._cache_dir, exist_ok=True)
            self._cache_ready = True
        return self._cache_dir


class Context:
    """The `ctx` argument. Cheap to build: one per request, on the hot path."""

    __slots__ = ("_cancelled", "_finished", "_pod", "_tmp_dir", "request_id")

    def __init__(self, pod: Pod, request_id: str | None = None) -> None:
        self._pod = pod
        self.request_id = request_id
        self._tmp_dir: str | None = None
        self._cancelled = False
        self._finished = False

    @property
    def config(self) -> dict:
        return self._pod.config

    @property
    def model(self) -> str | None:
        return self._pod.model

    @property
    def recipe_dir(self) -> str:
        return self._pod.recipe_dir

    @property
    def state(self) -> dict:
        """A dict shared by `setup` and every request (e.g. the loaded model)."""
        return self._pod.state

    @property
    def cache_dir(self) -> str:
        """A persistent cache directory, created on first access."""
        return self._pod.cache_dir()

    @property
    def tmp_dir(self) -> str:
        """A private temporary directory, created on first access, removed when the request ends."""
        if self._tmp_dir is None:
            if self._finished:
                raise RuntimeError(f"ctx.tmp_dir: request {self.request_id!r} has already been answered")
            import tempfile

            label = "setup" if self.request_id is None else "request"
            self._tmp_dir = tempfile.mkdtemp(prefix=f"podkeeper-{label}-")
        return self._tmp_dir

    @property
    def cancelled(self) -> bool:
        """True once the daemon asked to cancel this request; long handlers should check it."""
        return self._cancelled

    def log(self, message: str, level: str = "info") -> None:
        """Send a log line to the daemon (in setup, each one also resets its ready stall timer)."""
        if level not in protocol.LOG_LEVELS:
            raise ValueError(f"ctx.log: level must be one of {', '.join(protocol.LOG_LEVELS)}, got {level!r}")
        self._pod.send(protocol.log_message(level, str(message)))

    def progress(self, value: float, message: str | None = None) -> None:
        """Report this request's progress, a fraction clamped to [0, 1]."""
        request_id = self._active("progress")
        from math import isnan  # lazily: `math` is a shared library, kept off the start-up path

        value = float(value)
        if isnan(value):
            raise ValueError("ctx.progress: value must be a number between 0 and 1, got NaN")
        value = 0.0 if value < 0 else 1.0 if value > 1 else value
        self._pod.send(protocol.progress_message(request_id, value, None if message is None else str(message)))

    def emit(self, data: object) -> None:
        """Stream one chunk of this request's output to the caller."""
        request_id = self._active("emit")
        try:
            self._pod.send(protocol.chunk_message(request_id, data))
        except (TypeError, ValueError) as error:
            raise TypeError(f"chunk is not JSON serialisable: {error}") from None

    def _active(self, method: str) -> str:
        if self.request_id is None:
            raise RuntimeError(f"ctx.{method}() belongs to a request; it is not available in setup()")
        if self._finished:
            raise RuntimeError(f"ctx.{method}(): request {self.request_id!r} has already been answered")
        return self.request_id

    def _finish(self) -> None:
        """Called by the runner once the request is over: no more events, temp dir removed."""
        self._finished = True
        if self._tmp_dir is not None:
            import shutil

            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None

    def __repr__(self) -> str:
        return f"Context(request_id={self.request_id!r}, recipe_dir={self._pod.recipe_dir!r})"
