"""Real runner processes: concurrency, FIFO queueing, cancel and shutdown."""

from __future__ import annotations

import time
from pathlib import Path

from helpers import write_recipe

TIMED = """
    import asyncio
    import time

    ACTIONS = ("slow_async", "until_cancelled", "endless")

    def process(payload, ctx):
        started = time.monotonic()
        time.sleep(payload)
        return {"start": started, "end": time.monotonic()}

    async def slow_async(payload, ctx):
        try:
            await asyncio.sleep(payload)
        except asyncio.CancelledError:
            ctx.state["cleaned up"] = ctx.request_id
            raise
        return "finished"

    def until_cancelled(payload, ctx):
        deadline = time.monotonic() + 30
        while not ctx.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"saw cancel": ctx.cancelled}

    def endless(payload, ctx):
        n = 0
        while True:
            yield n
            n += 1
            time.sleep(0.01)
"""


def test_concurrency_runs_handlers_side_by_side(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED, concurrency=4))
    pod.ready()
    for i in range(4):
        pod.send({"id": f"c{i}", "payload": 0.3})
    spans = [message["result"] for message in pod.results("c0", "c1", "c2", "c3").values()]
    assert max(span["start"] for span in spans) < min(span["end"] for span in spans)  # all four overlapped


def test_concurrency_limit_is_respected(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED, concurrency=2))
    pod.ready()
    for i in range(6):
        pod.send({"id": f"q{i}", "payload": 0.05})
    results = pod.results(*(f"q{i}" for i in range(6)))
    spans = [(message["result"]["start"], message["result"]["end"]) for message in results.values()]
    for start, _ in spans:
        assert sum(1 for other_start, other_end in spans if other_start <= start < other_end) <= 2


def test_queue_is_fifo(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))  # concurrency 1
    pod.ready()
    for i in range(5):
        pod.send({"id": f"q{i}", "payload": 0.01})
    answers = [pod.read()["id"] for _ in range(5)]
    assert answers == [f"q{i}" for i in range(5)]


def test_cancel_queued_request(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))  # concurrency 1
    pod.ready()
    pod.send({"id": "busy", "payload": 0.5})
    pod.send({"id": "waiting", "payload": 0})
    pod.send({"id": "k", "action": "cancel", "payload": {"id": "waiting"}})
    assert pod.read()["error"]["code"] == "CANCELLED"  # "waiting", answered at once
    assert pod.read() == {"id": "k", "success": True, "result": {"cancelled": True}}
    assert pod.read()["id"] == "busy"  # the running one is unaffected
    assert pod.call("cancel", {"id": "nobody"}, "k2")["result"] == {"cancelled": False}
    assert pod.call("cancel", {"target": "x"}, "k3")["error"]["code"] == "BAD_REQUEST"


def test_cancel_running_async_request(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))
    pod.ready()
    pod.send({"id": "a", "action": "slow_async", "payload": 60})
    assert pod.call("ping", None, "p")["success"] is True  # it has started meanwhile
    pod.send({"id": "k", "action": "cancel", "payload": {"id": "a"}})
    results = pod.results("a", "k")
    assert results["k"]["result"] == {"cancelled": True}
    assert results["a"]["error"]["code"] == "CANCELLED"
    pod.send({"id": "after", "action": "slow_async", "payload": 0})
    assert pod.result("after")["result"] == "finished"


def test_cancel_running_sync_request_answers_cancelled(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))
    pod.ready()
    pod.send({"id": "s", "action": "until_cancelled"})
    assert pod.call("ping", None, "p")["success"] is True
    pod.send({"id": "k", "action": "cancel", "payload": {"id": "s"}})
    results = pod.results("s", "k")
    assert results["k"]["result"] == {"cancelled": True}
    assert results["s"]["error"]["code"] == "CANCELLED"


def test_shutdown_finishes_running_and_queued_requests(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))
    pod.ready()
    pod.send({"id": "running", "payload": 0.4})
    pod.send({"id": "queued", "payload": 0})
    pod.send({"id": "bye", "action": "shutdown"})
    pod.send({"id": "late", "payload": 0})
    results = pod.results("running", "queued", "bye", "late")
    assert results["bye"] == {"id": "bye", "success": True, "result": {}}
    assert results["queued"]["success"] is True
    assert results["late"]["error"]["code"] == "SHUTTING_DOWN"
    assert results["running"]["success"] is True
    assert pod.wait() == 0


def test_shutdown_then_stdin_closed_still_drains(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))
    pod.ready()
    pod.send({"id": "running", "payload": 0.4})
    pod.send({"id": "bye", "action": "shutdown"})
    pod.close_stdin()  # what the daemon does on stop
    results = pod.results("running", "bye")
    assert results["running"]["success"] is True
    assert pod.wait() == 0


def test_idle_shutdown_exits_at_once(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))
    pod.ready()
    assert pod.call("shutdown", None, "bye")["result"] == {}
    assert pod.wait(5) == 0


def test_cancel_stops_a_sync_generator_between_chunks(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))
    pod.ready()
    pod.send({"id": "g", "action": "endless"})
    assert pod.read() == {"type": "chunk", "id": "g", "data": 0}
    pod.send({"id": "k", "action": "cancel", "payload": {"id": "g"}})
    events: list[dict] = []
    assert pod.result("g", events)["error"]["code"] == "CANCELLED"
    assert all(event["type"] == "chunk" for event in events if event.get("id") == "g")
    assert pod.call("ping", None, "p")["success"] is True


def test_a_long_job_after_an_idle_spell_still_has_its_cancel_read(tmp_path: Path, start_pod) -> None:
    # At concurrency 1 the watcher parks after 50 ms without jobs; the next job must wake it, each
    # time, so a long job never keeps `ping` and `cancel` unread.
    pod = start_pod(write_recipe(tmp_path / "r", TIMED))
    pod.ready()
    for round_ in range(3):
        time.sleep(0.2)
        pod.send({"id": f"s{round_}", "action": "until_cancelled"})
        started = time.monotonic()
        assert pod.call("ping", None, f"p{round_}")["success"] is True
        assert time.monotonic() - started < 1.0
        pod.send({"id": f"k{round_}", "action": "cancel", "payload": {"id": f"s{round_}"}})
        results = pod.results(f"s{round_}", f"k{round_}")
        assert results[f"s{round_}"]["error"]["code"] == "CANCELLED"
