"""One request being served: its `Job` record, and how a sync handler runs to its final line."""

from __future__ import annotations

from .failures import error_line, result_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio

    from .context import Context
    from .loader import Handler
    from .protocol import Request

QUEUED, RUNNING, DROPPED = "queued", "running", "dropped"


def _generator():  # as `types` defines GeneratorType, without importing `types` at start-up
    yield


GeneratorType = type(_generator())
_PLAIN = (dict, list, str, int, float, bool, type(None))


class Job:
    __slots__ = ("ctx", "handler", "pending", "request", "state", "task")

    def __init__(self, request: Request, handler: Handler, ctx: Context) -> None:
        self.request = request
        self.handler = handler
        self.ctx = ctx
        self.state = QUEUED
        self.task: asyncio.Task | None = None  # for async jobs
        self.pending: object = None  # an awaitable or async iterator returned by a sync function

    @property
    def is_async(self) -> bool:
        return self.handler.is_async or self.pending is not None


def run_sync(job: Job) -> bytes | None:
    """Call a sync handler; returns its final line, or None if it handed back something async
    (a coroutine, awaitable or async iterator, left in `job.pending` for the event loop)."""
    ctx = job.ctx
    try:
        out = job.handler.fn(job.request.payload, ctx)
        if type(out) in _PLAIN:
            return result_line(job.request.id, out)
        if type(out) is GeneratorType:
            return result_line(job.request.id, _drain(out, ctx))
        if hasattr(out, "__await__") or hasattr(out, "__anext__"):
            job.pending = out
            return None
        return result_line(job.request.id, out)
    except BaseException as error:  # noqa: BLE001 - SystemExit too: the pod keeps serving
        return error_line(job.request.id, error)


def _drain(generator: GeneratorType, ctx: Context) -> object:
    """Send each item of a sync generator as a chunk; stop early once the request is cancelled.
    The result is the generator's return value (None, sent as null, if it returns nothing)."""
    emit = ctx.emit
    try:
        while not ctx._cancelled:
            emit(next(generator))
    except StopIteration as stop:
        return stop.value
    finally:
        generator.close()
    return None
