"""Bytes as binary frames beside a JSON line: the codec's encoding and the runner's reading."""

from __future__ import annotations

import array
from pathlib import Path

import pytest
from helpers import write_recipe

from podkeeper_pod import codec


def _split(wire: bytes) -> tuple[dict, bytes]:
    line, _, rest = wire.partition(b"\n")
    return codec.loads(line), rest


def test_a_message_without_bytes_is_the_plain_line() -> None:
    assert codec.encode_line({"id": "1", "result": [1, "x"]}) == b'{"id":"1","result":[1,"x"]}\n'


def test_bytes_become_frames_after_the_line_in_order() -> None:
    value = {"id": "1", "result": {"a": b"abc", "b": [bytearray(b""), memoryview(b"xy")], "c": "text"}}
    message, rest = _split(codec.encode_line(value))
    assert message == {
        "id": "1",
        "result": {"a": {"$bytes": 0}, "b": [{"$bytes": 1}, {"$bytes": 2}], "c": "text"},
        "$frames": [3, 0, 2],
    }
    assert rest == b"abcxy"
    lengths = codec.frame_lengths(message)
    frames, at = [], 0
    for length in lengths:
        frames.append(rest[at : at + length])
        at += length
    assert codec.attach_frames(message, frames) == {"id": "1", "result": {"a": b"abc", "b": [b"", b"xy"], "c": "text"}}


def test_a_memoryview_of_an_array_goes_as_its_raw_bytes() -> None:
    data = array.array("d", [1.5, 2.5])
    message, rest = _split(codec.encode_line({"r": memoryview(data)}))
    assert message["$frames"] == [16] and rest == data.tobytes()


def test_what_is_neither_json_nor_bytes_still_fails() -> None:
    with pytest.raises(TypeError):
        codec.encode_line({"r": b"x", "s": {1, 2}})


@pytest.mark.parametrize("header", ["lots", [-1], [1.5], [True]])
def test_malformed_headers_are_value_errors(header: object) -> None:
    with pytest.raises(ValueError, match="frames"):
        codec.frame_lengths({"$frames": header})


def test_a_reference_to_a_missing_frame_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="names no frame"):
        codec.attach_frames({"a": {"$bytes": 1}}, [b"x"])


DESCRIBE = """
    def process(payload, ctx):
        return {"type": type(payload["data"]).__name__, "data": payload["data"].decode()}
"""


def test_the_runner_reads_frames_and_answers_malformed_headers_by_id(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", DESCRIBE))
    pod.ready()
    pod.send_raw(b'{"id":"f1","payload":{"data":{"$bytes":0}},"$frames":[5]}\nhello')
    assert pod.result("f1")["result"] == {"type": "bytes", "data": "hello"}
    pod.send_raw(b'{"id":"f2","payload":{},"$frames":"x"}\n')
    answer = pod.result("f2")
    assert answer["error"]["code"] == "BAD_REQUEST" and "$frames" in answer["error"]["message"]
    pod.send_raw(b'{"id":"f3","payload":{"data":{"$bytes":0}},"$frames":[2]}\nok')
    assert pod.result("f3")["result"] == {"type": "bytes", "data": "ok"}


def test_an_answer_writes_result_last_then_its_frames() -> None:
    """The daemon finds a big `result` from the line's head and tail without scanning it
    (src/transport/shallow-scan.ts `lastMemberSpan`): `result` must stay the last member."""
    from podkeeper_pod.protocol import success

    plain = codec.encode_line(success("7", {"a": [1, "}"]}))
    assert plain == b'{"id":"7","success":true,"result":{"a":[1,"}"]}}\n'
    framed = codec.encode_line(success("7", {"a": b"xyz"}))
    assert framed == b'{"id":"7","success":true,"result":{"a":{"$bytes":0}},"$frames":[3]}\nxyz'


@pytest.mark.parametrize(
    ("line", "lengths"),
    [
        (b'{"id":"1","payload":{"bad":tru},"$frames":[3,0,12]}\n', [3, 0, 12]),
        (b'{"id":"1","payload":tru,"$frames":[]} \r\n', []),
        (b'{"id":"1","payload":{"a":0,"$frames":[5]}}\n', []),  # a member of the payload, not the tail
        (b'{"id":"1","payload":[1,{"a":0,"$frames":[5]}]}\n', []),
        (b'{"id":"1","$frames":[5x]}\n', []),
        (b"not json at all\n", []),
    ],
)
def test_tail_frame_lengths_reads_only_the_lines_own_tail(line: bytes, lengths: list[int]) -> None:
    assert codec.tail_frame_lengths(line) == lengths


def test_tail_frame_lengths_refuses_lengths_nobody_sends() -> None:
    assert codec.tail_frame_lengths(b'{"id":"1","x":tru,"$frames":[' + b"9" * 5000 + b"]}\n") == []
