"""The daemon's side of a pod forked from a zygote, for the tests (src/launch/forked-spare.ts does
the same in the daemon): three connections to the zygote's socket (control, stdio, stderr), each
opening with its role and the pod's nonce, which the spare answers with ["spare", its pid]; then
["go", environ, cwd] on control (sent at once here: the spare reads it after its answer)."""

from __future__ import annotations

import os
import queue
import socket
import threading

from helpers import TIMEOUT, Pod

from podkeeper_pod import wire


def connect(
    path: str, environ: dict[str, str] | None, cwd: str = "/"
) -> tuple[socket.socket, socket.socket, socket.socket]:
    """(control, stdio, stderr), the go sent unless `environ` is None."""
    nonce = os.urandom(8)
    conns = []
    for role in (b"c", b"o", b"e"):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
        conn.sendall(role + nonce)
        conns.append(conn)
    if environ is not None:
        wire.send(conns[0], ("go", environ, cwd))
    return conns[0], conns[1], conns[2]


class ForkedPod(Pod):
    """A forked pod driven line by line, as helpers.Pod drives a spawned one (whose reading it shares)."""

    def __init__(self, path: str, environ: dict[str, str], cwd: str) -> None:  # noqa: PLW0231 - no process to spawn
        self.control, self.stdio, self.err = connect(path, environ, cwd)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: list[bytes] = []
        self.exit: list | None = None
        self._threads = [threading.Thread(target=target, daemon=True) for target in (self._pump, self._pump_err)]
        for thread in self._threads:
            thread.start()
        self.control.settimeout(TIMEOUT)
        held, _ = wire.receive(self.control)  # the spare accepted the connections: it is ours
        assert held is not None and held[0] == "spare", held
        reply, _ = wire.receive(self.control)
        assert reply is not None and reply[0] == "forked", reply
        self.pid = int(reply[1])  # the guardian: the pod's process group
        assert self.pid == held[1]

    def _pump(self) -> None:
        with self.stdio.makefile("rb") as lines:
            for line in lines:
                self.lines.put(line)
        self.lines.put(None)

    def _pump_err(self) -> None:
        while chunk := self.err.recv(65536):
            self._stderr.append(chunk)

    def send_raw(self, data: bytes) -> None:
        self.stdio.sendall(data)

    def close_stdin(self) -> None:
        self.stdio.shutdown(socket.SHUT_WR)

    def wait(self) -> tuple[int | None, int | None]:
        """(exit code, signal number), as the guardian reports them on control."""
        message, _ = wire.receive(self.control)
        assert message is not None and message[0] == "exited", message
        for thread in self._threads:
            thread.join(5)
        return message[1], message[2]

    def close(self) -> None:
        for conn in (self.control, self.stdio, self.err):
            conn.close()
