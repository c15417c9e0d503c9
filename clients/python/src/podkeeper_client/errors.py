"""What the client raises.

- `PodkeeperError`: the daemon (or the connection) failed the request: `code` is the protocol's
  stable code (`UNKNOWN_TARGET`, `TIMEOUT`, `POD_CRASHED`, `DAEMON_NOT_RUNNING`, ...), `details` its facts.
- The remote code's own exception, when it can be rebuilt here (serialization `cloudpickle`), raised
  `from` a `RemoteTraceback` that carries the traceback as the pod printed it (multiprocessing's way).
- `RemoteError` otherwise, with `error_type`, `remote_traceback` and the whole `response`.
"""

from __future__ import annotations


class PodkeeperError(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class RemoteTraceback(Exception):
    """The remote traceback, shown as the cause of the re-raised exception."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text.rstrip()}\n"""'


class RemoteError(Exception):
    """The remote code failed, and its exception could not be rebuilt here."""

    def __init__(self, error_type: str, message: str, remote_traceback: str, response: dict) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.remote_traceback = remote_traceback
        self.response = response


class InstanceLostWarning(UserWarning):
    """A remote instance was created again: the pod had dropped it (restart, or its LRU bound)."""
