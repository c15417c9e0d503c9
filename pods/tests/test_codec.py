"""The wire JSON codec: strict JSON, same output from the accelerated and the portable paths."""

from __future__ import annotations

import json
import math

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


# A long line decodes its floats without a Python call per number when no literal can overflow
# (codec._no_overflow); these hold it to the same answers as the careful path.
PADDING = "p" * codec._PLAIN_FLOATS_FROM


@pytest.mark.parametrize(
    "literal",
    ["1e400", "-1E+999", "1" + "0" * 250 + "e99", "1" + "0" * 400 + ".5", "9" * 310 + ".0"],
)
def test_a_long_line_refuses_a_float_beyond_the_largest_double(literal: str) -> None:
    line = f'{{"x":{literal},"p":"{PADDING}"}}\n'.encode()
    with pytest.raises(ValueError, match="too large to represent"):
        codec.loads(line)


def test_a_long_line_of_floats_takes_the_fast_path_and_decodes_as_the_json_module_does() -> None:
    floats = [0.125, -2.5e-07, -0.0, 1e22, 1e5, -22500000000.0, 3.14159, 1.7976931348623157e-30]
    value = {"items": [{"f": f, "n": i, "s": "a string"} for i, f in enumerate(floats * 1000)]}
    line = (json.dumps(value, separators=(",", ":")) + "\n").encode().replace(b"1e+22", b"1E22")
    assert len(line) >= codec._PLAIN_FLOATS_FROM
    assert codec._no_overflow(line)  # the fast path: these assertions hold it, not the careful one
    decoded = codec.loads(line)
    assert decoded == json.loads(line)
    assert [math.copysign(1, item["f"]) for item in decoded["items"][:8]] == [1, -1, -1, 1, 1, -1, 1, 1]


def test_a_long_line_that_may_overflow_decodes_as_the_json_module_does() -> None:
    floats = [0.125, 1.7976931348623157e308, 5e-324, 1e22]
    value = {"items": [{"f": f, "n": i, "s": "e999 1e400"} for i, f in enumerate(floats * 2000)]}
    line = (json.dumps(value, separators=(",", ":")) + "\n").encode()
    assert len(line) >= codec._PLAIN_FLOATS_FROM
    assert not codec._no_overflow(line)  # the careful path
    assert codec.loads(line) == json.loads(line)


@pytest.mark.parametrize(
    ("text", "overflow_possible"),
    [
        ('{"a":0.125,"b":-12345,"c":1e22,"d":2.5e-07}', False),
        ('{"a":1e400}', True),
        ('{"a":1E+308}', True),  # 308 is not beyond, but any 3-digit exponent takes the careful path
        ('{"a":1e-400}', True),  # nor is this (it is 0): the same
        ('{"s":"see e999"}', True),  # inside a string: only the careful path, never a wrong answer
        ('{"a":' + "1" * 200 + "}", True),
        ('{"a":' + "1" * 199 + "e99}", False),  # 10^297: within range
    ],
)
def test_what_the_fast_check_lets_through(text: str, overflow_possible: bool) -> None:
    assert codec._no_overflow(text.encode()) is not overflow_possible
