"""How a handler's outcome becomes its final protocol line (one place builds every error text)."""

from __future__ import annotations

import os

from . import codec
from .protocol import CANCELLED, HANDLER_ERROR, failure

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def result_line(request_id: str, result: object) -> bytes:
    """The success line, or a HANDLER_ERROR line if `result` cannot be sent as JSON."""
    try:
        return codec.encode_line({"id": request_id, "success": True, "result": result})  # protocol.success
    except Exception as error:  # noqa: BLE001 - TypeError, ValueError, RecursionError, a dict subclass...
        message = f"result is not JSON serialisable: {_text(error)}"
        return codec.encode_line(failure(request_id, HANDLER_ERROR, message))


def error_line(request_id: str, error: BaseException) -> bytes:
    """HANDLER_ERROR with `Type: message` and the traceback, starting at the recipe's own frames."""
    return codec.encode_line(failure(request_id, HANDLER_ERROR, describe(error), format_traceback(error)))


def cancelled_line(request_id: str) -> bytes:
    return codec.encode_line(failure(request_id, CANCELLED, "the request was cancelled"))


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {_text(error)}"


def format_traceback(error: BaseException) -> str:
    import traceback

    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None and _is_runner_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next  # drop the runner's (and the import system's) frames above the recipe's
    return "".join(traceback.format_exception(type(error), error, tb))


def _is_runner_frame(filename: str) -> bool:
    return filename.startswith((_PACKAGE_DIR, "<frozen importlib"))


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a recipe's exception with a broken __str__
        return f"<unprintable {type(error).__name__}>"
