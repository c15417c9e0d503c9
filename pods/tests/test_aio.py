"""The asyncio side in-process: every way a task ends is answered exactly once."""

from __future__ import annotations

import asyncio
import json
import threading

from podkeeper_pod.aio import AsyncRunner
from podkeeper_pod.context import Context, Pod
from podkeeper_pod.jobs import Job
from podkeeper_pod.loader import Handler
from podkeeper_pod.protocol import Request


async def sleeper(payload: object, ctx: Context) -> str:
    await asyncio.sleep(payload)
    return "slept"


def stop(runner: AsyncRunner) -> None:
    runner._loop.call_soon_threadsafe(runner._loop.stop)
    runner._thread.join(5)
    runner._loop.close()


def run_jobs(*cancel_after: float | None) -> list[dict]:
    """Start one `sleeper` job per entry; cancel each after that many seconds (None: never)."""
    lines: list[dict] = []
    done = threading.Semaphore(0)

    def on_done(job: Job, line: bytes) -> None:
        lines.append(json.loads(line))
        done.release()

    runner = AsyncRunner(on_done)
    pod = Pod(lambda message: None, ".")
    for i, delay in enumerate(cancel_after):
        job = Job(Request(f"j{i}", "process", 0.05 if delay is None else 30), Handler("process", sleeper), Context(pod))
        runner.start(job)
        if delay is not None:
            if delay:
                threading.Event().wait(delay)
            job.ctx._cancelled = True
            runner.cancel(job)
    for _ in cancel_after:
        assert done.acquire(timeout=10)
    stop(runner)
    return sorted(lines, key=lambda line: line["id"])


def test_results_and_cancellations() -> None:
    lines = run_jobs(None, 0, 0.05)  # finishes; cancelled at once (maybe before its first step); later
    assert lines[0] == {"id": "j0", "success": True, "result": "slept"}
    assert [line["error"]["code"] for line in lines[1:]] == ["CANCELLED", "CANCELLED"]


def test_cancel_before_the_first_step_is_still_answered() -> None:
    lines: list[bytes] = []
    runner = AsyncRunner(lambda job, line: lines.append(line))
    job = Job(Request("x"), Handler("process", sleeper), Context(Pod(lambda message: None, ".")))
    job.request.payload = 30
    ready = threading.Event()

    def start_then_cancel() -> None:  # on the loop thread: the task exists but has not run yet
        runner._spawn(job)
        assert job.task is not None
        job.task.cancel()
        ready.set()

    runner._loop.call_soon_threadsafe(start_then_cancel)
    assert ready.wait(10)
    for _ in range(200):
        if lines:
            break
        threading.Event().wait(0.05)
    stop(runner)
    assert [json.loads(line)["error"]["code"] for line in lines] == ["CANCELLED"]
