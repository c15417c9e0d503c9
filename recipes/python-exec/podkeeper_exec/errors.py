"""Failure kinds of an `execute` request, and how any failure becomes the response's error fields.

Every failure, the user's exception or ours, is answered as a FunctionResponse with
`success: false` (a successful protocol answer: the pod keeps serving). `error_type` is the
exception's class name: the user's own (`ZeroDivisionError`, `SyntaxError`, ...) or one of ours below.
"""

from __future__ import annotations

import os
import traceback

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_ENTRY = os.path.join(os.path.dirname(_PACKAGE_DIR.rstrip(os.sep)), "exec_pod.py")


class ExecError(Exception):
    """A failure found by python-exec itself (not raised by the user's code): no traceback is sent."""


class RequestError(ExecError):
    """The request is malformed: the message names the field and what was received."""


class NotFoundError(ExecError):
    """The function, class, method, instance or deployed name the request asks for does not exist."""


class DependencyError(ExecError):
    """A per-request dependency could not be installed."""


class SerializationError(ExecError):
    """An argument could not be decoded, or the result could not be encoded."""


def describe(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a user exception with a broken __str__
        text = f"<unprintable {type(error).__name__}>"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def format_traceback(error: BaseException) -> str:
    """The traceback from the user's first frame on (python-exec's and the runner's frames dropped).

    Our own failures carry no traceback: their message says everything. A SyntaxError gets the
    usual caret display of the offending line.
    """
    if isinstance(error, ExecError):
        return ""
    tb = error.__traceback__
    while tb is not None and _is_ours(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def error_fields(error: BaseException) -> dict:
    """`error` (message, then the traceback, as worker-tetra's), `error_type` and `traceback`."""
    message = describe(error)
    trace = format_traceback(error)
    return {
        "error": f"{message}\n{trace}" if trace else message,
        "error_type": type(error).__name__,
        "traceback": trace,
    }


def _is_ours(filename: str) -> bool:
    return (
        filename.startswith((_PACKAGE_DIR, "<frozen importlib"))
        or filename == _ENTRY
        or f"{os.sep}podkeeper_pod{os.sep}" in filename
    )
