"""The wire JSON codec: strict JSON, same output from the accelerated and the portable paths."""

from __future__ import annotations

import json

import pytest

from podkeeper_pod import codec


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -7,
        2**70,
        1.5,
        1e-300,
        "",
        'héllo \u2713 "q" \\ \n\t\x01',
        [],
        {},
        {"a": [1, {"b": None}]},
        (1, 2),
    ],
)
def test_round_trip_matches_the_json_module(value: object) -> None:
    text = codec.dumps(value)
    assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert codec.loads(text) == json.loads(text)
    assert codec.encode_line(value) == text.encode() + b"\n"


def test_portable_fallback_agrees() -> None:
    encode, scan = codec._portable()
    value = {"a": [1, 2.5, "é\n", None, True], "b": {}}
    assert encode(value) == codec.dumps(value)
    assert scan(codec.dumps(value), 0)[0] == value


@pytest.mark.parametrize("text", ["", "   ", "{", "[1,]", "[1] 2", "NaN", "-Infinity", '"\x01"', "{'a': 1}", b"\xff"])
def test_invalid_input_raises_value_error(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        codec.loads(text)


def test_surrounding_whitespace_and_bytes() -> None:
    assert codec.loads(b' \t{"a": [1, 2]}\r\n') == {"a": [1, 2]}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1j: 1}, object(), {"s": {1}}, "\ud800"])
def test_unencodable_values_raise(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        codec.encode_line(value)


def test_circular_reference_is_an_error() -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        codec.dumps(loop)
