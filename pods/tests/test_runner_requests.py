"""Real runner processes: ready, requests, handler kinds, errors, channel hygiene, ctx."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers import BOOTSTRAP, PYTHON, write_recipe

ECHO = """
    ACTIONS = ("upper",)

    def process(payload, ctx):
        return {"echo": payload}

    def upper(payload, ctx):
        return payload["text"].upper()
"""


def test_ready_announces_the_pod(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO, capability="echoing"))
    ready = pod.ready()
    assert ready["type"] == "ready"
    assert ready["capability"] == "echoing"
    assert ready["backend"] == "python"
    assert ready["pid"] == pod.pid
    assert ready["protocol"] == 2
    assert ready["actions"] == ["process", "upper"]
    version = subprocess.run(
        [PYTHON, "-c", "import platform; print(platform.python_version())"], capture_output=True, check=True
    )
    assert ready["python"] == version.stdout.decode().strip()
    assert 1 < ready["memoryMB"] < 1000


def test_echo_round_trip_and_actions(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO))
    pod.ready()
    assert pod.call("process", {"text": "héllo ✓"}) == {
        "id": "r1",
        "success": True,
        "result": {"echo": {"text": "héllo ✓"}},
    }
    pod.send({"id": "r2", "payload": [1, 2]})  # action defaults to process
    assert pod.result("r2")["result"] == {"echo": [1, 2]}
    pod.send({"id": "r3"})  # no payload: None
    assert pod.result("r3")["result"] == {"echo": None}
    assert pod.call("upper", {"text": "abc"}, "r4")["result"] == "ABC"
    assert pod.call("ping", None, "r5")["result"] == {"pong": True, "pid": pod.pid}


def test_the_module_entry_for_people_serves_as_the_daemon_s_entry_does(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO), entry=["-m", "podkeeper_pod"])
    assert pod.ready()["actions"] == ["process", "upper"]
    assert pod.call("process", {"n": 1})["result"] == {"echo": {"n": 1}}
    bad = start_pod(tmp_path / "r", args=[], entry=["-m", "podkeeper_pod"])
    assert bad.wait() == 2
    assert "usage: python -m podkeeper_pod <recipe_dir>" in bad.stderr


def test_print_and_fd1_writes_never_reach_the_channel(tmp_path: Path, start_pod) -> None:
    code = """
        import os, subprocess, sys

        print("printed at import")

        def process(payload, ctx):
            print("printed by the handler")
            sys.stdout.write("written to sys.stdout\\n")
            os.write(1, b'{"id":"x","success":true,"result":"forged"}\\n')
            subprocess.run(["sh", "-c", "echo from a child process"], check=True)
            eaten = subprocess.run(["cat"], capture_output=False, stdout=subprocess.PIPE, timeout=10).stdout
            return {"child read": eaten.decode()}
    """
    pod = start_pod(write_recipe(tmp_path / "r", code))
    pod.ready()
    pod.send({"id": "r1"})
    pod.send({"id": "r2", "action": "ping"})  # must not be swallowed by the child `cat`
    results = pod.results("r1", "r2")
    assert results["r1"]["result"] == {"child read": ""}
    assert results["r2"]["success"] is True
    pod.close_stdin()
    assert pod.wait() == 0
    stdout = b"".join(pod.raw_stdout).decode()
    assert "forged" not in stdout and "printed" not in stdout and "child process" not in stdout
    for text in ("printed at import", "printed by the handler", "written to sys.stdout", "forged", "from a child"):
        assert text in pod.stderr


def test_async_handlers_and_setup(tmp_path: Path, start_pod) -> None:
    code = """
        import asyncio
        import functools

        ACTIONS = ("wrapped",)

        async def setup(ctx):
            await asyncio.sleep(0.01)
            ctx.state["greeting"] = "hi"

        async def process(payload, ctx):
            await asyncio.sleep(0.01)
            return {"greeting": ctx.state["greeting"], "n": payload}

        async def _add(payload, ctx, extra):
            return payload + extra

        wrapped = functools.partial(_add, extra=10)  # a sync callable returning a coroutine
    """
    pod = start_pod(write_recipe(tmp_path / "r", code))
    pod.ready()
    assert pod.call("process", 5)["result"] == {"greeting": "hi", "n": 5}
    assert pod.call("wrapped", 5, "r2")["result"] == 15


def test_generators_stream_chunks_in_order(tmp_path: Path, start_pod) -> None:
    code = """
        import asyncio

        ACTIONS = ("plain", "agen", "emitting")

        def process(payload, ctx):
            for i in range(payload):
                yield {"token": i}
            return {"done": payload}

        def plain(payload, ctx):
            yield "only"

        async def agen(payload, ctx):
            for i in range(payload):
                await asyncio.sleep(0)
                yield i

        def emitting(payload, ctx):
            ctx.progress(0.5, "half")
            ctx.emit("a")
            ctx.progress(7)
            return "end"
    """
    pod = start_pod(write_recipe(tmp_path / "r", code))
    pod.ready()
    for request_id, action, payload, chunks, result in [
        ("s", "process", 5, [{"token": i} for i in range(5)], {"done": 5}),
        ("p", "plain", None, ["only"], None),
        ("a", "agen", 4, [0, 1, 2, 3], None),
    ]:
        events: list[dict] = []
        pod.send({"id": request_id, "action": action, "payload": payload})
        assert pod.result(request_id, events) == {"id": request_id, "success": True, "result": result}
        assert events == [{"type": "chunk", "id": request_id, "data": chunk} for chunk in chunks]
    events = []
    pod.send({"id": "e", "action": "emitting"})
    assert pod.result("e", events)["result"] == "end"
    assert events == [
        {"type": "progress", "id": "e", "progress": 0.5, "message": "half"},
        {"type": "chunk", "id": "e", "data": "a"},
        {"type": "progress", "id": "e", "progress": 1.0},
    ]


def test_handler_errors(tmp_path: Path, start_pod) -> None:
    code = """
        ACTIONS = ("unserialisable", "bad_chunk", "exits", "exits_async", "fails_async")

        def process(payload, ctx):
            raise ValueError("boom")

        def unserialisable(payload, ctx):
            return {"value": {1, 2}}

        def bad_chunk(payload, ctx):
            yield object()

        def exits(payload, ctx):
            raise SystemExit(4)

        async def exits_async(payload, ctx):
            raise SystemExit(5)

        async def fails_async(payload, ctx):
            raise KeyError(payload)
    """
    pod = start_pod(write_recipe(tmp_path / "r", code))
    pod.ready()
    error = pod.call("process", None)["error"]
    assert error["code"] == "HANDLER_ERROR"
    assert error["message"] == "ValueError: boom"
    assert error["traceback"].startswith("Traceback (most recent call last):")
    assert 'raise ValueError("boom")' in error["traceback"] and "main.py" in error["traceback"]
    assert "executor.py" not in error["traceback"] and "jobs.py" not in error["traceback"]
    error = pod.call("unserialisable", None, "r2")["error"]
    assert error["code"] == "HANDLER_ERROR"
    assert error["message"].startswith("result is not JSON serialisable: ")
    error = pod.call("bad_chunk", None, "r3")["error"]
    assert error["code"] == "HANDLER_ERROR" and "not JSON serialisable" in error["message"]
    assert pod.call("exits", None, "r4")["error"]["message"] == "SystemExit: 4"
    assert pod.call("exits_async", None, "r6")["error"]["message"] == "SystemExit: 5"  # the loop survives
    error = pod.call("fails_async", "k", "r7")["error"]
    assert error["message"] == "KeyError: 'k'" and "raise KeyError(payload)" in error["traceback"]
    assert pod.call("ping", None, "r5")["success"] is True  # still serving


def test_unknown_action(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO))
    pod.ready()
    error = pod.call("transcribe", {}, "u1")["error"]
    assert error["code"] == "UNKNOWN_ACTION"
    assert "'transcribe'" in error["message"] and "process, upper" in error["message"]


def test_every_bad_line_is_answered_with_its_id_or_as_invalid(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO))
    pod.ready()
    pod.send_raw(b"this is not json\n")
    pod.send_raw(b'{"id": "b1", "action": \n')  # broken JSON, id recoverable
    pod.send_raw(b'{"id": "b2", "action": "process", "extra": 1}\n')
    pod.send_raw(b'{"id": 7}\n')
    pod.send_raw(b"[1, 2]\n")
    pod.send_raw(b"\n")
    pod.send_raw(b"\xff\xfe\n")
    pod.send({"id": "ok"})
    answers = [pod.read() for _ in range(7)]
    invalid = [answer for answer in answers if answer.get("type") == "invalid"]
    by_id = {answer["id"]: answer for answer in answers if "id" in answer}
    assert by_id["b1"]["error"]["code"] == "BAD_REQUEST"
    assert by_id["b2"]["error"]["code"] == "BAD_REQUEST" and "`extra`" in by_id["b2"]["error"]["message"]
    assert by_id["ok"] == {"id": "ok", "success": True, "result": {"echo": None}}
    # the four lines naming no id are answered too, in order, each saying what was wrong
    assert [answer["error"]["code"] for answer in invalid] == ["BAD_REQUEST"] * 4
    messages = [answer["error"]["message"] for answer in invalid]
    assert "not valid JSON" in messages[0] and "`id`" in messages[1] and "JSON object" in messages[2]
    assert "not valid JSON" in messages[3]
    assert [answer.get("type") for answer in answers].index("invalid") == 0
    pod.close_stdin()
    assert pod.wait() == 0
    assert pod.stderr.count("bad request line") == 6  # the blank line is skipped silently


def test_duplicate_in_flight_id_is_dropped(tmp_path: Path, start_pod) -> None:
    code = """
        import time

        def process(payload, ctx):
            time.sleep(payload)
            return payload
    """
    pod = start_pod(write_recipe(tmp_path / "r", code))
    pod.ready()
    pod.send({"id": "d", "payload": 0.5})
    pod.send({"id": "d", "payload": 0})  # any answer to it would be taken for the first one's
    pod.send({"id": "p", "action": "ping"})
    assert pod.read()["id"] == "p"
    assert pod.read() == {"id": "d", "success": True, "result": 0.5}
    assert pod.call("process", 0, "d")["result"] == 0  # the id is free again once answered
    assert "already in flight" in pod.stderr


def test_context_in_a_real_pod(tmp_path: Path, start_pod) -> None:
    code = """
        import os

        ACTIONS = ("tmp", "tmp_fails", "cache")

        def setup(ctx):
            ctx.log("loading the model")
            ctx.log("almost there", level="debug")
            ctx.state["loaded"] = True
            try:
                ctx.progress(0.1)
            except RuntimeError as error:
                ctx.state["setup progress"] = str(error)

        def process(payload, ctx):
            return {"config": ctx.config, "model": ctx.model, "recipe_dir": ctx.recipe_dir,
                    "state": ctx.state, "request_id": ctx.request_id, "cancelled": ctx.cancelled}

        def tmp(payload, ctx):
            path = os.path.join(ctx.tmp_dir, "scratch.txt")
            with open(path, "w") as file:
                file.write("x")
            return path

        def tmp_fails(payload, ctx):
            open(os.path.join(ctx.tmp_dir, "scratch.txt"), "w").close()
            raise RuntimeError(ctx.tmp_dir)

        def cache(payload, ctx):
            return ctx.cache_dir
    """
    recipe = write_recipe(tmp_path / "r", code, model="org/model", config={"size": 3})
    cache = tmp_path / "cache" / "nested"
    pod = start_pod(recipe, PODKEEPER_CACHE_DIR=str(cache), PODKEEPER_MODEL_PATH=str(tmp_path / "weights"))
    logs = [pod.read(), pod.read()]
    assert [(log["type"], log["level"], log["message"]) for log in logs] == [
        ("log", "info", "loading the model"),
        ("log", "debug", "almost there"),
    ]
    pod.ready()
    assert not cache.exists()  # created lazily
    result = pod.call("process", None, "c1")["result"]
    assert result["config"] == {"size": 3}
    assert result["model"] == str(tmp_path / "weights")
    assert result["recipe_dir"] == str(recipe)
    assert result["state"]["loaded"] is True and "not available in setup" in result["state"]["setup progress"]
    assert result["request_id"] == "c1" and result["cancelled"] is False
    path = Path(pod.call("tmp", None, "t1")["result"])
    assert path.parent.parent == tmp_path / "tmp"  # under TMPDIR
    assert not path.parent.exists()  # removed once the request ended
    failed = pod.call("tmp_fails", None, "t2")["error"]["message"]
    assert not os.path.exists(failed.split(": ", 1)[1])
    assert pod.call("cache", None, "k1")["result"] == str(cache)
    assert cache.is_dir()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_start_up_stays_light(tmp_path: Path, start_pod, pod_env: dict[str, str]) -> None:
    # Without site (-S), so a site-packages .pth cannot have imported things first.
    code = "import sys\ndef process(payload, ctx):\n    return sorted(sys.modules)\n"
    pod = start_pod(write_recipe(tmp_path / "r", code), entry=["-S", *BOOTSTRAP])
    pod.ready()
    loaded = set(pod.call("process")["result"])
    # threading is imported right after ready, on purpose (the reading threads need it).
    baseline = "import sys, threading\nprint(*sys.modules)"
    bare = subprocess.run([PYTHON, "-S", "-c", baseline], env=pod_env, capture_output=True, check=True)
    already = set(bare.stdout.decode().split())
    heavy = {"asyncio", "inspect", "tempfile", "traceback", "concurrent.futures", "json", "re", "signal", "enum"}
    heavy |= {"runpy", "importlib.util", "contextlib"}  # `-m` and importlib.util: ~4 ms on a 7 ms start
    assert (loaded - already) & heavy == set()
