"""The wire protocol mirror agrees with the shared fixture, in both directions."""

from __future__ import annotations

import calendar
import json
import re
from pathlib import Path

import pytest

from podkeeper_pod import protocol
from podkeeper_pod.protocol import ProtocolError, Request, parse_request, validate_message

FIXTURE = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "protocol" / "pod-wire-v1.json"
WIRE = json.loads(FIXTURE.read_text())


def cases(direction: str, validity: str) -> list:
    return [pytest.param(case, id=case["name"]) for case in WIRE[direction][validity]]


@pytest.mark.parametrize("case", cases("daemonToPod", "valid"))
def test_valid_requests_are_accepted(case: dict) -> None:
    message = case["message"]
    request = parse_request(message)
    assert request.id == message["id"]
    assert request.action == message.get("action", "process")
    assert request.payload == message.get("payload")


@pytest.mark.parametrize("case", cases("daemonToPod", "invalid"))
def test_invalid_requests_are_rejected(case: dict) -> None:
    with pytest.raises(ProtocolError):
        parse_request(case["message"])


@pytest.mark.parametrize("case", cases("podToDaemon", "valid"))
def test_valid_pod_messages_are_accepted(case: dict) -> None:
    assert validate_message(case["message"]) == case["kind"]


@pytest.mark.parametrize("case", cases("podToDaemon", "invalid"))
def test_invalid_pod_messages_are_rejected(case: dict) -> None:
    with pytest.raises(ProtocolError):
        validate_message(case["message"])


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"action": "process"}, "`id`"),
        ({"id": "x" * 257}, "`id`"),
        ({"id": 7}, "`id`"),
        ({"id": "a", "action": "x" * 129}, "`action`"),
        ({"id": "a", "action": None}, "`action`"),
        ({"id": "a", "extra": 1}, "`extra`"),
    ],
)
def test_request_errors_name_the_field(message: dict, field: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(field)):
        parse_request(message)


def test_request_defaults() -> None:
    request = parse_request({"id": "a"})
    assert (request.id, request.action, request.payload) == ("a", "process", None)
    assert isinstance(request, Request)
    assert parse_request({"id": "x" * 256, "action": "y" * 128, "payload": None}).action == "y" * 128


def test_constructors_build_valid_messages() -> None:
    built = [
        protocol.ready_message("llm", ["process"], 123, 12.5, "3.11.7"),
        protocol.ready_message("llm", ["process"], 123, 12.5, "3.11.7", guardian=122),
        protocol.log_message("warning", "careful"),
        protocol.progress_message("r", 0.5),
        protocol.progress_message("r", 1.0, "done"),
        protocol.chunk_message("r", {"token": "Hel"}),
        protocol.chunk_message("r", None),
        protocol.success("r", None),
        protocol.failure("r", protocol.HANDLER_ERROR, "ValueError: x", "Traceback ..."),
        protocol.failure("r", protocol.CANCELLED, "cancelled"),
        protocol.invalid_message(protocol.BAD_REQUEST, "bad request line, no id found: not valid JSON"),
    ]
    kinds = [validate_message(message) for message in built]
    assert kinds == [
        "ready",
        "ready",
        "log",
        "progress",
        "progress",
        "chunk",
        "chunk",
        "result",
        "result",
        "result",
        "invalid",
    ]


def test_timestamp_is_iso_utc_with_milliseconds() -> None:
    assert protocol.timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert protocol.timestamp(calendar.timegm((2026, 11, 22, 10, 0, 0)) + 0.25) == "2026-11-22T10:00:00.250Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", protocol.log_message("info", "x")["timestamp"])


@pytest.mark.parametrize(
    "message",
    [
        {"id": "x", "success": True},  # the runner always sends `result`, null included
        {"id": "x", "success": True, "result": 1, "extra": 2},
        {"type": "progress", "id": "x", "progress": float("nan")},
        {"type": "progress", "id": "x", "progress": True},
        {
            "type": "ready",
            "capability": "c",
            "backend": "python",
            "memoryMB": 1,
            "pid": True,
            "protocol": 2,
            "actions": [],
            "python": "3",
        },
    ],
)
def test_runner_side_is_stricter_than_needed(message: dict) -> None:
    with pytest.raises(ProtocolError):
        validate_message(message)
