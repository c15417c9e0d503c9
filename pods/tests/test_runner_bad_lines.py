"""Every request line the runner cannot decode is answered (with its id), never silently dropped."""

from __future__ import annotations

from pathlib import Path

from helpers import write_recipe

ECHO = """
    def process(payload, ctx):
        return payload
"""


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_deeply_nested_input_is_answered_with_its_id_and_the_pod_still_serves(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO))
    pod.ready()
    for index, levels in enumerate((1_000, 100_000)):
        request_id = f"deep{index}"
        pod.send_raw(b'{"id":"%s","action":"process","payload":%s}\n' % (request_id.encode(), _deep(levels)))
        answer = pod.result(request_id)
        assert answer["success"] is False
        assert answer["error"]["code"] == "BAD_REQUEST"
        assert "nest" in answer["error"]["message"]
    assert pod.call("process", {"still": "serving"}, "after")["result"] == {"still": "serving"}


def test_invalid_utf8_and_nul_bytes_are_answered_with_their_id(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO))
    pod.ready()
    pod.send_raw(b'{"id":"u1","payload":"caf\xc3"}\n')
    answer = pod.result("u1")
    assert answer["error"]["code"] == "BAD_REQUEST"
    assert "utf-8" in answer["error"]["message"].lower()
    pod.send_raw(b'{"id":"n1","payload":"a\x00b"}\n')
    assert pod.result("n1")["error"]["code"] == "BAD_REQUEST"
    assert pod.call("process", "ok", "after")["result"] == "ok"


def test_a_large_undecodable_line_is_answered_with_its_id(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO))
    pod.ready()
    pod.send_raw(b'{"id":"big","payload":"' + b"x" * (8 << 20) + b"}\n")  # unterminated string
    assert pod.result("big")["error"]["code"] == "BAD_REQUEST"
    assert pod.call("process", 1, "after")["result"] == 1


def test_non_finite_numbers_are_refused_not_read_as_infinity(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ECHO))
    pod.ready()
    pod.send_raw(b'{"id":"inf","payload":1e400}\n')
    answer = pod.result("inf")
    assert answer["error"]["code"] == "BAD_REQUEST"
    assert "1e400" in answer["error"]["message"]
