"""Framing between the daemon, a zygote's spare pods and their runners (zygote.py, prefork.py): a
4-byte little-endian length, then a JSON array (the daemon speaks it too: src/launch/forked-spare.ts).

File descriptors travel with a message's first byte (SCM_RIGHTS, `sendmsg`), so only the first
`recvmsg` of a message asks for them (between a spare's guardian and its runner; the daemon sends
none)."""

from __future__ import annotations

import os
import sys

try:
    import _socket as sockets
except ImportError:  # pragma: no cover - other interpreters
    import socket as sockets

from . import codec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from socket import socket

MAX_MESSAGE = 1 << 22  # an environment of a few MB is already absurd
MAX_FDS = 4  # what a spare's guardian hands its runner (prefork.py): fds 0, 1, 2


class WireError(Exception):
    """A peer broke the framing: a message too long, or one that is not a JSON array."""


def send(sock: socket, message: tuple | list, fds: tuple[int, ...] = ()) -> None:
    data = codec.dumps(list(message)).encode()
    frame = len(data).to_bytes(4, "little") + data
    if fds:
        rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
        sent = sock.sendmsg([frame], [(sockets.SOL_SOCKET, sockets.SCM_RIGHTS, rights)])
    else:
        sent = sock.send(frame)
    if sent < len(frame):
        sock.sendall(frame[sent:])


def receive(sock: socket, want_fds: bool = False) -> tuple[list | None, list[int]]:
    """One message and the descriptors that came with it; (None, []) at end of input. When the
    message cannot be read (a timeout, a broken frame), the descriptors that came with it are closed
    before the error goes up: the caller never saw them, and a long-lived zygote must not keep them."""
    fds: list[int] = []
    try:
        return _receive(sock, want_fds, fds)
    except BaseException:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        raise


def _receive(sock: socket, want_fds: bool, fds: list[int]) -> tuple[list | None, list[int]]:
    if want_fds:
        size = MAX_FDS * 4
        data, ancillary, _flags, _address = sock.recvmsg(4, sockets.CMSG_SPACE(size))
        for level, kind, payload in ancillary:
            if level == sockets.SOL_SOCKET and kind == sockets.SCM_RIGHTS:
                usable = len(payload) - len(payload) % 4
                fds += [int.from_bytes(payload[i : i + 4], sys.byteorder, signed=True) for i in range(0, usable, 4)]
    else:
        data = sock.recv(4)
    if not data:
        return None, fds
    header = data + _exactly(sock, 4 - len(data))
    length = int.from_bytes(header, "little")
    if length > MAX_MESSAGE:
        raise WireError(f"a message of {length} bytes (at most {MAX_MESSAGE})")
    try:
        message = codec.loads(_exactly(sock, length))
    except (ValueError, UnicodeDecodeError) as error:
        raise WireError(f"not a JSON message: {error}") from None
    if type(message) is not list or not message:
        raise WireError(f"expected a JSON array, got {type(message).__name__}")
    return message, fds


def _exactly(sock: socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = sock.recv(min(size, 1 << 16))
        if not chunk:
            raise WireError("the peer closed the connection mid-message")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
