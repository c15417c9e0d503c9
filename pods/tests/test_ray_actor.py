"""The Ray actor's relay loop (podkeeper_ray/actor.py) without Ray: its buffers and wake-ups are plain
asyncio and threads, so the scheduling hazard is tested here, in a child interpreter with a deadline
(a loop that never yields cannot be interrupted from inside)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PODS_DIR = str(Path(__file__).resolve().parents[1])

# Two chunks arrive before read() runs, the second's wake-up still queued: read() takes both, and
# that wake-up lands after it returned. The next read() must still wait (yielding), so that a write can be served.
SCENARIO = """
import asyncio, threading
from podkeeper_ray.actor import PodActor

async def main():
    actor = PodActor()
    actor._loop = asyncio.get_running_loop()
    actor._wake = asyncio.Event()
    actor._open_streams = 2
    actor._out.extend(b'{"id":"1"}\\n')
    actor._notify()
    await asyncio.sleep(0)  # the first wake-up is delivered
    actor._out.extend(b'{"id":"2"}\\n')
    actor._notify()  # the second is queued: read() below takes its data first
    first = await actor.read()
    assert first == (b'{"id":"1"}\\n{"id":"2"}\\n', b"", None), first
    await asyncio.sleep(0)  # the second wake-up lands now, with nothing left to read
    reading = asyncio.ensure_future(actor.read())
    await asyncio.sleep(0.05)  # another call (a write) runs here only if read() yields
    threading.Timer(0.05, lambda: (actor._out.extend(b'{"id":"3"}\\n'), actor._notify())).start()
    assert (await reading)[0] == b'{"id":"3"}\\n'
    print("ok")

asyncio.run(main())
"""


def test_a_late_wake_up_does_not_make_read_spin():
    assert _run_with_deadline() == "ok"


def _run_with_deadline() -> str:
    child = subprocess.Popen(
        [sys.executable, "-c", SCENARIO], env={"PYTHONPATH": PODS_DIR}, stdout=subprocess.PIPE, text=True
    )
    try:
        out, _ = child.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        return "read() never yielded: the loop was starved"
    return out.strip()
