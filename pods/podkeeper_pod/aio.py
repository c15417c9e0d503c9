"""One asyncio event loop, in its own thread, for every async handler (imported only when needed).

Jobs are started and cancelled from other threads with `call_soon_threadsafe`; each runs as one
task, and the task's done callback reports its final line through `on_done` on the loop thread,
however it ended (even cancelled before its first step). Async generators are iterated here and
each item is sent as a chunk.
"""

from __future__ import annotations

import asyncio
import threading

from .failures import cancelled_line, error_line, result_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .context import Context
    from .jobs import Job


class AsyncRunner:
    def __init__(self, on_done: Callable[[Job, bytes], None]) -> None:
        """`on_done(job, final_line)` runs on the loop thread when a job ends, however it ends."""
        self._on_done = on_done
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="podkeeper-asyncio", daemon=True)
        self._thread.start()

    def run(self, awaitable: Awaitable[object]) -> object:
        """Run an awaitable on the loop and wait for it (used for `async def setup`)."""

        async def wait() -> object:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), self._loop).result()

    def start(self, job: Job) -> None:
        self._loop.call_soon_threadsafe(self._spawn, job)

    def cancel(self, job: Job) -> None:
        self._loop.call_soon_threadsafe(self._cancel, job)

    def _spawn(self, job: Job) -> None:
        if job.ctx._cancelled:  # cancelled before it could start
            close = getattr(job.pending, "close", None)
            if close is not None:
                close()  # no "coroutine was never awaited" warning
            self._on_done(job, cancelled_line(job.request.id))
            return
        job.task = self._loop.create_task(self._drive(job))
        job.task.add_done_callback(lambda task: self._finished(job, task))

    def _finished(self, job: Job, task: asyncio.Task) -> None:
        self._on_done(job, cancelled_line(job.request.id) if task.cancelled() else task.result())

    def _cancel(self, job: Job) -> None:
        if job.task is not None:
            job.task.cancel()

    async def _drive(self, job: Job) -> bytes:
        """The job's final line. Cancellation propagates (the task ends cancelled); any other
        exception, SystemExit included, must not escape a task: it would stop the loop."""
        try:
            obj = job.pending if job.pending is not None else job.handler.fn(job.request.payload, job.ctx)
            result = await (_stream(obj, job.ctx) if hasattr(obj, "__anext__") else obj)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # noqa: BLE001
            return error_line(job.request.id, error)
        return result_line(job.request.id, result)


async def _stream(iterator: object, ctx: Context) -> None:
    emit = ctx.emit
    try:
        async for item in iterator:
            emit(item)
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
