"""Runs the recipe's handlers: at most `concurrency` at once, later requests queued FIFO.

    submit() ──slot free?──yes──▶ the reader thread itself (sync handler) ─▶ answer ─┐
       │                  └─────▶ asyncio loop thread (async handler) ──────▶ answer ─┤
       └──no──▶ FIFO queue ◀────────── a finishing job takes the next one ◀───────────┘

Hot path (leader/follower): the reader thread that read a request for a sync handler with a free
slot runs it itself, after handing the reading to another thread, so no thread wake-up sits between
a request arriving and its handler starting (on a VM such a wake-up costs tens of microseconds).
A thread that finishes takes the next queued job without any hand-off. The asyncio loop exists
only once an async handler is seen.
"""

from __future__ import annotations

from _thread import allocate_lock, start_new_thread

try:  # the C type itself: `collections` costs ~1.5 ms of start-up (keyword, operator, reprlib...)
    from _collections import deque
except ImportError:  # not CPython
    from collections import deque

from . import codec
from .channel import note
from .context import Context
from .failures import cancelled_line
from .jobs import DROPPED, QUEUED, RUNNING, Job, run_sync
from .protocol import CANCELLED, SHUTTING_DOWN, failure

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .aio import AsyncRunner
    from .context import Pod
    from .loader import Handler
    from .protocol import Request


class _Worker:
    """A thread that runs sync handlers, one at a time, until the process exits."""

    __slots__ = ("_executor", "_job", "_wake")

    def __init__(self, executor: Executor, job: Job) -> None:
        self._executor = executor
        self._wake = allocate_lock()
        self._wake.acquire()
        self._job = job
        start_new_thread(self._run, ())

    def assign(self, job: Job) -> None:
        self._job = job
        self._wake.release()

    def _run(self) -> None:
        job: Job | None = self._job
        while True:
            while job is not None:
                job = self._executor._run_sync(job, self)
            self._wake.acquire()
            job = self._job


class Executor:
    def __init__(self, pod: Pod, concurrency: int, send_line: Callable[[bytes], None], on_drained: Callable[[], None]):
        self._pod = pod
        self._limit = concurrency
        self._send_line = send_line
        self._on_drained = on_drained
        self._lock = allocate_lock()
        self._jobs: dict[str, Job] = {}  # queued and running, by request id
        self._queue: deque[Job] = deque()
        self._active = 0  # slots in use (running jobs, plus a hold while shutting down)
        self._idle: list[_Worker] = []
        self._aio: AsyncRunner | None = None
        self._aio_lock = allocate_lock()
        self.draining = False

    @property
    def concurrency(self) -> int:
        return self._limit

    # ------------------------------------------------------------------ requests in

    def submit(self, request: Request, handler: Handler) -> Job | None:
        """Take a request. Returns the job when the calling (reader) thread should run it itself:
        a sync handler with a free slot, run by `run_inline` once another thread reads requests."""
        job = Job(request, handler, Context(self._pod, request.id))
        with self._lock:
            duplicate, draining = request.id in self._jobs, self.draining
            if not duplicate and not draining:
                self._jobs[request.id] = job
                if self._active < self._limit:
                    self._active += 1
                    job.state = RUNNING
                else:
                    self._queue.append(job)
        if duplicate:  # any answer would carry that id and be taken for the first request's answer
            note(f"dropped a request whose id {request.id!r} is already in flight (ids must be unique)")
        elif draining:
            message = "the pod is shutting down and accepts no new requests"
            self._send_line(codec.encode_line(failure(request.id, SHUTTING_DOWN, message)))
        elif job.state is RUNNING:
            if not handler.is_async:
                return job
            self._start(job, None)
        return None

    def run_inline(self, job: Job) -> None:
        """Run a job returned by `submit` on this thread, then any sync jobs queued behind it.
        Never raises: run_sync catches the handler's errors, and a runner bug is noted on stderr."""
        next_job: Job | None = job
        try:
            while next_job is not None:
                job = next_job
                line = cancelled_line(job.request.id) if job.ctx._cancelled else run_sync(job)
                if line is None:  # it handed back a coroutine or async iterator: the loop takes it
                    self.async_runner().start(job)
                    return
                next_job = self._complete(job, line, None, inline=True)
        except Exception as error:  # noqa: BLE001 - the reading must go on
            note(f"internal error while running request {job.request.id!r}: {type(error).__name__}: {error}")

    def cancel(self, request_id: str) -> bool:
        """Cancel a queued (dropped at once) or running (flagged) request; False if unknown."""
        with self._lock:
            job = self._jobs.get(request_id)
            if job is None:
                return False
            job.ctx._cancelled = True
            queued = job.state is QUEUED
            if queued:
                job.state = DROPPED
                del self._jobs[request_id]
        if queued:
            self._answer_dropped(job, CANCELLED, "cancelled before it started")
        elif job.is_async:
            self.async_runner().cancel(job)
        return True

    def shutdown(self, answer: Callable[[], None]) -> None:
        """Refuse new work, `answer()`, then exit once every request already received is answered.

        Queued requests still run: the daemon pipelines requests ahead of free slots, so from its
        side they are in flight, and its stop deadline (SIGTERM, then SIGKILL) bounds the wait.
        """
        with self._lock:
            self.draining = True
            self._active += 1  # hold: nothing may report "drained" before the answer below is out
        answer()
        with self._lock:
            self._active -= 1
            drained = self._active == 0 and not self._queue
        if drained:
            self._on_drained()

    def abandon(self) -> None:
        """On exit: give up on running requests, but remove their temporary directories."""
        if self._lock.acquire(timeout=1.0):  # never wait long on the way out
            jobs = list(self._jobs.values())
            self._lock.release()
            for job in jobs:
                job.ctx._finish()

    def async_runner(self) -> AsyncRunner:
        """The asyncio loop thread, started on first use."""
        if self._aio is None:
            with self._aio_lock:
                if self._aio is None:
                    from .aio import AsyncRunner

                    self._aio = AsyncRunner(lambda job, line: self._complete(job, line, None))
        return self._aio

    # ------------------------------------------------------------------ running

    def _start(self, job: Job, worker: _Worker | None) -> None:
        if job.handler.is_async:
            self.async_runner().start(job)
        elif worker is not None:
            worker.assign(job)
        else:
            _Worker(self, job)

    def _run_sync(self, job: Job, worker: _Worker) -> Job | None:
        """Run one job on a worker thread; returns the next job for this thread, if any."""
        line = cancelled_line(job.request.id) if job.ctx._cancelled else run_sync(job)
        if line is None:  # the function returned a coroutine or async iterator: the loop takes it
            with self._lock:
                self._idle.append(worker)
            self.async_runner().start(job)
            return None
        return self._complete(job, line, worker)

    def _complete(self, job: Job, line: bytes, worker: _Worker | None, inline: bool = False) -> Job | None:
        """Answer `job`, then free its slot: start the next queued job, or park `worker`.
        A sync next job is returned for the calling thread to run when it is a worker or `inline`."""
        ctx = job.ctx
        # A lone dict.pop is atomic; `_lock` guards the compound steps (submit, cancel, the queue).
        self._jobs.pop(job.request.id, None)
        ctx._finish()
        self._send_line(cancelled_line(job.request.id) if ctx._cancelled else line)
        nxt = other = None
        with self._lock:
            while self._queue:
                candidate = self._queue.popleft()
                if candidate.state is QUEUED:
                    candidate.state = RUNNING
                    nxt = candidate
                    break
            if nxt is None:
                self._active -= 1
                drained = self.draining and self._active == 0
            if worker is not None and (nxt is None or nxt.handler.is_async):
                self._idle.append(worker)
            elif worker is None and not inline and nxt is not None and not nxt.handler.is_async and self._idle:
                other = self._idle.pop()
        if nxt is None:
            if drained:
                self._on_drained()
            return None
        if (worker is not None or inline) and not nxt.handler.is_async:
            return nxt  # run it on this very thread: no hand-off
        self._start(nxt, other)
        return None

    def _answer_dropped(self, job: Job, code: str, message: str) -> None:
        job.ctx._finish()
        self._send_line(codec.encode_line(failure(job.request.id, code, message)))
