"""The client end to end against a real daemon and its `python-exec` pod (see conftest.py)."""

from __future__ import annotations

import asyncio
import threading
import warnings

import pytest

from podkeeper_client import (
    InstanceLostWarning,
    Podkeeper,
    PodkeeperError,
    RemoteClass,
    RemoteError,
    RemoteTraceback,
    remote,
)
from podkeeper_client.source import source_of


class Counter:
    def __init__(self, start: int = 0) -> None:
        self.value = start

    def increment(self, by: int = 1) -> int:
        self.value += by
        return self.value

    async def slow_value(self) -> int:
        import asyncio

        await asyncio.sleep(0.01)
        return self.value

    def countdown(self):
        yield from range(self.value, 0, -1)


def test_a_decorated_function_runs_in_the_pod_and_returns_python_values(daemon):
    @remote(socket=daemon.socket)
    def describe(values, *, scale=1):
        import os

        return {"pid": os.getpid(), "total": sum(values) * scale, "kinds": (type(values).__name__, frozenset({1}))}

    out = describe([1, 2, 3], scale=2)
    assert out["total"] == 12
    assert out["kinds"] == ("list", frozenset({1}))  # tuples and frozensets survive: cloudpickle
    assert out["pid"] != __import__("os").getpid()
    assert describe.local([1], scale=1)["total"] == 1


def test_json_serialization_sends_plain_values(daemon):
    @remote(socket=daemon.socket, serialization="json")
    def shout(text):
        return {"text": text.upper(), "length": len(text)}

    assert shout("hi") == {"text": "HI", "length": 2}


def test_a_remote_exception_is_raised_here_with_the_remote_traceback(daemon):
    @remote(socket=daemon.socket)
    def divide(a, b):
        return a / b

    with pytest.raises(ZeroDivisionError) as caught:
        divide(1, 0)
    cause = caught.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "in divide" in cause.text and "return a / b" in cause.text  # the pod's traceback, with the source line


def test_an_exception_is_a_remote_error_with_json(daemon):
    @remote(socket=daemon.socket, serialization="json")
    def fail():
        raise KeyError("missing")

    with pytest.raises(RemoteError) as caught:
        fail()
    assert caught.value.error_type == "KeyError"
    assert "raise KeyError" in caught.value.remote_traceback
    assert caught.value.response["success"] is False


def test_remote_output_is_echoed_here(daemon, capsys):
    @remote(socket=daemon.socket)
    def chatty():
        import logging
        import sys

        print("to stdout")
        print("to stderr", file=sys.stderr)
        logging.getLogger("chatty").warning("a warning")
        return 1

    assert chatty() == 1
    assert capsys.readouterr().out == "to stdout\nto stderr\nWARNING:chatty:a warning\n"


def test_async_functions_give_coroutines(daemon):
    @remote(socket=daemon.socket)
    async def later(x):
        import asyncio

        await asyncio.sleep(0.01)
        return x * 2

    async def main():
        return await asyncio.gather(later(1), later(2))

    assert asyncio.run(main()) == [2, 4]


def test_generator_functions_stream_their_items(daemon):
    @remote(socket=daemon.socket)
    def squares(n):
        for i in range(n):
            yield i * i

    assert list(squares(4)) == [0, 1, 4, 9]


def test_functions_without_source_are_sent_pickled(daemon):
    factor = 3
    triple = remote(lambda x: x * factor, socket=daemon.socket)  # a closure: only cloudpickle can send it
    assert "function_pickle" in triple.request((1,), {})
    assert triple(5) == 15


def test_per_request_dependencies_are_installed_once(daemon):
    @remote(socket=daemon.socket, dependencies=["pk-exec-dep==1.0.0"])
    def value():
        import pk_exec_dep

        return pk_exec_dep.VALUE

    assert value() == 42
    assert value() == 42
    with Podkeeper(socket=daemon.socket) as pk:
        info = pk.call("python-exec")  # `process`: what the pod holds
    assert "pk-exec-dep==1.0.0" in info["dependencies"]


def test_a_remote_class_keeps_its_instance_across_calls(daemon):
    RemoteCounter = remote(Counter, socket=daemon.socket)
    counter = RemoteCounter(10)
    assert [counter.increment(), counter.increment(), counter.increment(5)] == [11, 12, 17]
    assert counter.instance_id.startswith("Counter_")
    assert counter.instance_info["method_calls"] == 3
    assert asyncio.run(counter.slow_value()) == 17
    assert list(counter.countdown()) == [17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]


def test_a_second_client_attaches_to_the_same_instance(daemon):
    first = RemoteClass(Counter, 100, _options=remote(Counter, socket=daemon.socket).options)
    assert first.increment() == 101
    with Podkeeper(socket=daemon.socket) as other:
        second = remote(Counter, client=other).attach(first.instance_id)
        assert second.increment() == 102
    assert first.increment() == 103


def test_a_lost_instance_is_created_again_with_a_warning(daemon):
    counter = remote(Counter, socket=daemon.socket)(7)
    assert counter.increment() == 8
    assert counter.release() is True
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert counter.increment() == 8  # created again from its constructor arguments
    assert any(issubclass(w.category, InstanceLostWarning) for w in seen)
    attached = remote(Counter, socket=daemon.socket).attach("Counter_gone")
    with pytest.raises(RemoteError) as caught:
        attached.increment()
    assert caught.value.error_type == "NotFoundError"


def test_concurrent_calls_from_threads_share_one_connection(daemon):
    @remote(socket=daemon.socket, echo=False)
    def tagged(tag):
        import time

        for _ in range(5):
            print(tag)
            time.sleep(0.005)
        return tag

    results: list[str] = []
    threads = [threading.Thread(target=lambda t=t: results.append(tagged(t))) for t in ("a", "b", "c", "d")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["a", "b", "c", "d"]


def test_daemon_errors_carry_their_code(daemon, client):
    with pytest.raises(PodkeeperError) as caught:
        client.call("no-such-recipe", {})
    assert caught.value.code == "UNKNOWN_TARGET"
    with pytest.raises(PodkeeperError) as caught:
        client.call("old-runner", {})  # its runner is another podkeeper version's (see conftest)
    assert caught.value.code == "PROTOCOL_MISMATCH"
    assert caught.value.details["protocol"] == 1
    assert "speaks pod protocol 1, and this podkeeper speaks 2" in str(caught.value)
    missing = daemon.home / "nobody.sock"
    with pytest.raises(PodkeeperError) as caught:
        Podkeeper(socket=str(missing))
    assert caught.value.code == "DAEMON_NOT_RUNNING"
    # The command a user has on PATH (not `npx`, which only works inside the checkout).
    assert f"start one with `podkeeper daemon --socket {missing}`" in str(caught.value)


def test_status_pods_stop_and_gc_reach_the_daemon(daemon, client):
    assert client.call("echo", {"text": "hi"}) == {"text": "hi"}
    assert client.status()["pods"] >= 1
    assert "echo" in [pod["recipe"] for pod in client.pods()]
    assert [pod["recipe"] for pod in client.stop(target="echo")] == ["echo"]
    assert "echo" not in [pod["recipe"] for pod in client.pods()]
    collected = client.gc()
    assert set(collected) >= {"removed", "kept"}


def test_source_of_drops_decorators_and_indentation():
    def decorate(fn):
        return fn

    @decorate
    @decorate
    def inner(x):
        return x

    assert source_of(inner) == "def inner(x):\n    return x\n"
    assert source_of(lambda: 1) is None
    assert source_of(Counter).startswith("class Counter:")


def test_bytes_go_both_ways_as_frames(daemon):
    from podkeeper_client import Podkeeper

    data = bytes(range(256)) * 40_000  # 10 MB
    with Podkeeper(socket=daemon.socket) as pk:
        assert pk.call("echo", {"audio": data, "n": 1}) == {"audio": data, "n": 1}
        assert pk.call("echo", b"") == b""
        assert pk.call("echo", {"text": "plain"}) == {"text": "plain"}
