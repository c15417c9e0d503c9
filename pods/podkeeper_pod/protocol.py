"""Pod wire protocol, version 2 (docs/architecture.md#protocols): the Python mirror of
`src/protocol/pod.ts`.

Daemon → pod: `parse_request` turns a decoded line into a `Request` or raises `ProtocolError` naming
the field. Pod → daemon: the runner builds every line with the constructors below;
`validate_message` checks a message against the schema (used by the tests, never on the hot path).
Both directions are pinned by `test/fixtures/protocol/pod-wire-v1.json`.
"""

from __future__ import annotations

import time

PROTOCOL_VERSION = 2
RESERVED_ACTIONS = ("ping", "cancel", "shutdown")
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_ID_LENGTH = 256
MAX_ACTION_LENGTH = 128

# Error codes the runner produces (docs/architecture.md#errors).
BAD_REQUEST = "BAD_REQUEST"
UNKNOWN_ACTION = "UNKNOWN_ACTION"
HANDLER_ERROR = "HANDLER_ERROR"
CANCELLED = "CANCELLED"
SHUTTING_DOWN = "SHUTTING_DOWN"

_REQUEST_FIELDS = ("id", "action", "payload")


class ProtocolError(ValueError):
    """A message that does not follow the wire protocol; the text names the offending field."""


class Request:
    """One daemon → pod request, already validated."""

    __slots__ = ("action", "id", "payload")

    def __init__(self, id: str, action: str = "process", payload: object = None) -> None:
        self.id = id
        self.action = action
        self.payload = payload

    def __repr__(self) -> str:
        return f"Request(id={self.id!r}, action={self.action!r})"


def _describe(value: object) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}
    kind = "null" if value is None else names.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{shown[:40]}... ({kind})" if len(shown) > 40 else f"{shown} ({kind})"


def _require_text(obj: dict, field: str, max_length: int | None = None) -> str:
    value = obj.get(field)
    if type(value) is not str or not value or (max_length is not None and len(value) > max_length):
        limit = f" of at most {max_length} characters" if max_length else ""
        got = "nothing" if field not in obj else _describe(value)
        raise ProtocolError(f"`{field}` must be a non-empty string{limit}, got {got}")
    return value


def parse_request(obj: object) -> Request:
    """Validate one decoded daemon → pod message (`{"id", "action"?, "payload"?}`, nothing else)."""
    if type(obj) is not dict:
        raise ProtocolError(f"a request must be a JSON object, got {_describe(obj)}")
    request_id = obj.get("id")
    if type(request_id) is not str or not 0 < len(request_id) <= MAX_ID_LENGTH:
        _require_text(obj, "id", MAX_ID_LENGTH)
    action = obj.get("action", "process")
    if type(action) is not str or not 0 < len(action) <= MAX_ACTION_LENGTH:
        _require_text(obj, "action", MAX_ACTION_LENGTH)
    if len(obj) > 1 + ("action" in obj) + ("payload" in obj):
        extra = next(key for key in obj if key not in _REQUEST_FIELDS)
        raise ProtocolError(f"unknown field `{extra}` (a request has only: {', '.join(_REQUEST_FIELDS)})")
    return Request(request_id, action, obj.get("payload"))


# ----------------------------------------------------------------------------- pod → daemon


def ready_message(
    capability: str, actions: list[str], pid: int, memory_mb: float, python: str, guardian: int | None = None
) -> dict:
    message = {
        "type": "ready",
        "capability": capability,
        "backend": "python",
        "memoryMB": memory_mb,
        "pid": pid,
        "protocol": PROTOCOL_VERSION,
        "actions": actions,
        "python": python,
    }
    if guardian is not None:  # forked from a zygote: the guardian that owns the pod's process tree
        message["guardian"] = guardian
    return message


def timestamp(now: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, e.g. `2026-11-22T10:00:00.000Z`."""
    now = time.time() if now is None else now
    seconds = int(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((now - seconds) * 1000):03d}Z"


def log_message(level: str, message: str) -> dict:
    return {"type": "log", "level": level, "message": message, "timestamp": timestamp()}


def progress_message(request_id: str, progress: float, message: str | None = None) -> dict:
    msg: dict = {"type": "progress", "id": request_id, "progress": progress}
    if message is not None:
        msg["message"] = message
    return msg


def chunk_message(request_id: str, data: object) -> dict:
    return {"type": "chunk", "id": request_id, "data": data}


def success(request_id: str, result: object) -> dict:
    return {"id": request_id, "success": True, "result": result}


def invalid_message(code: str, message: str) -> dict:
    """The answer to a request line the runner could not read and that names no id: the daemon fails
    the oldest request it sent and has not had answered."""
    return {"type": "invalid", "error": {"code": code, "message": message}}


def failure(request_id: str, code: str, message: str, traceback: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if traceback is not None:
        error["traceback"] = traceback
    return {"id": request_id, "success": False, "error": error}


# ----------------------------------------------------------------------------- validation

_NUMBER = (int, float)
_READY_FIELDS = ("type", "capability", "backend", "memoryMB", "pid", "protocol", "actions", "python", "guardian")
_FIELDS = {
    "ready": _READY_FIELDS,
    "log": ("type", "level", "message", "timestamp"),
    "progress": ("type", "id", "progress", "message"),
    "chunk": ("type", "id", "data"),
    "invalid": ("type", "error"),
}
_KINDS = "ready, log, progress, chunk, invalid"


def _check(ok: bool, field: str, expected: str, obj: dict) -> None:
    if not ok:
        got = "nothing" if field not in obj else _describe(obj[field])
        raise ProtocolError(f"`{field}` must be {expected}, got {got}")


def _check_error(error: object, obj: dict) -> None:
    _check(type(error) is dict, "error", "an object", obj)
    _require_text(error, "code")
    _check(type(error.get("message")) is str, "message", "a string", error)
    _check(type(error.get("traceback", "")) is str, "traceback", "a string", error)
    _check_fields(error, ("code", "message", "traceback"), "error")


def _is_number(value: object) -> bool:
    from math import isfinite

    return type(value) in _NUMBER and isfinite(value)  # not bool, NaN, inf


def _check_fields(obj: dict, allowed: tuple[str, ...], kind: str) -> None:
    for key in obj:
        if key not in allowed:
            raise ProtocolError(f"unknown field `{key}` in a {kind} message")


def validate_message(obj: object) -> str:
    """Check one pod → daemon message; returns its kind (ready|log|progress|chunk|invalid|result)."""
    if type(obj) is not dict:
        raise ProtocolError(f"a message must be a JSON object, got {_describe(obj)}")
    kind = obj.get("type", "result")
    if kind == "result":
        _check("type" not in obj, "type", f"one of {_KINDS} (or absent)", obj)
        _require_text(obj, "id", MAX_ID_LENGTH)
        _check(type(obj.get("success")) is bool, "success", "a boolean", obj)
        if obj["success"]:
            _check("result" in obj, "result", "present (null is allowed)", obj)
            _check_fields(obj, ("id", "success", "result"), "result")
        else:
            _check_error(obj.get("error"), obj)
            _check_fields(obj, ("id", "success", "error"), "result")
        return "result"
    if kind not in _FIELDS:
        raise ProtocolError(f"`type` must be one of {_KINDS}, got {_describe(kind)}")
    _check_fields(obj, _FIELDS[kind], kind)
    if kind == "invalid":
        _check_error(obj.get("error"), obj)
        return kind
    if kind == "ready":
        for field in ("capability", "backend", "python"):
            _check(type(obj.get(field)) is str, field, "a string", obj)
        _check(_is_number(obj.get("memoryMB")) and obj["memoryMB"] >= 0, "memoryMB", "a number >= 0", obj)
        _check(type(obj.get("pid")) is int and obj["pid"] > 0, "pid", "a positive integer", obj)
        guardian = obj.get("guardian", 1)
        _check(type(guardian) is int and guardian > 0, "guardian", "a positive integer (or absent)", obj)
        _check(
            obj.get("protocol") == PROTOCOL_VERSION and type(obj.get("protocol")) is int,
            "protocol",
            str(PROTOCOL_VERSION),
            obj,
        )
        actions = obj.get("actions")
        _check(type(actions) is list and all(type(a) is str for a in actions), "actions", "an array of strings", obj)
    elif kind == "log":
        _check(obj.get("level") in LOG_LEVELS, "level", f"one of {', '.join(LOG_LEVELS)}", obj)
        _check(type(obj.get("message")) is str, "message", "a string", obj)
        _check(type(obj.get("timestamp")) is str, "timestamp", "a string", obj)
    else:
        _require_text(obj, "id", MAX_ID_LENGTH)
        if kind == "progress":
            value = obj.get("progress")
            _check(_is_number(value) and 0 <= value <= 1, "progress", "a number between 0 and 1", obj)
            _check(type(obj.get("message", "")) is str, "message", "a string", obj)
        else:
            _check("data" in obj, "data", "present (null is allowed)", obj)
    return kind
