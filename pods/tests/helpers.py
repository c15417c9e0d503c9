"""Test helpers: tiny recipes written into tmp_path, and real runner processes driven line by line.

The runner processes use the interpreter running the tests, or `$PODKEEPER_TEST_PYTHON` (to check
the runner on other Python versions: `PODKEEPER_TEST_PYTHON=python3.9 python3 -m pytest pods/tests`).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

PODS_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PODS_DIR))

from podkeeper_pod.protocol import validate_message

TIMEOUT = 15.0  # generous: the machine is shared and noisy
PYTHON = os.environ.get("PODKEEPER_TEST_PYTHON") or sys.executable


def write_recipe(directory: Path, code: str, **fields: object) -> Path:
    """A recipe dir with `recipe.json` (name/capability/entry defaults) and `main.py` = `code`."""
    directory.mkdir(parents=True, exist_ok=True)
    recipe = {"name": "test-recipe", "capability": "testing", "entry": "main.py", **fields}
    (directory / "recipe.json").write_text(json.dumps(recipe))
    (directory / str(recipe["entry"])).write_text(textwrap.dedent(code))
    return directory


# How the daemon starts a runner (RUNNER_BOOTSTRAP in src/manager/pod-factory.ts); `-m podkeeper_pod`
# is the entry for people, and has a test of its own.
BOOTSTRAP = ["-c", "from podkeeper_pod.__main__ import run; run()"]


class Pod:
    """One runner process, started as the daemon starts it, with line-level access to its channel."""

    def __init__(
        self, recipe_dir: Path, env: dict[str, str], args: list[str] | None = None, entry: list[str] | None = None
    ) -> None:
        argv = [PYTHON, "-u", *(entry or BOOTSTRAP), *([str(recipe_dir)] if args is None else args)]
        self.proc = subprocess.Popen(
            argv,
            cwd=recipe_dir if recipe_dir.is_dir() else None,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.raw_stdout: list[bytes] = []
        self._stderr: list[bytes] = []
        self._threads = [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw_stdout.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    def send(self, message: object) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def read(self, timeout: float = TIMEOUT) -> dict:
        """The next protocol message, checked against the wire schema."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message within {timeout}s; stderr:\n{self.stderr}") from None
        assert line is not None, f"stdout closed; exit {self.proc.poll()}; stderr:\n{self.stderr}"
        message = json.loads(line)
        validate_message(message)
        return message

    def ready(self) -> dict:
        message = self.read()
        while message.get("type") == "log":
            message = self.read()
        assert message["type"] == "ready", message
        return message

    def call(self, action: str = "process", payload: object = None, request_id: str = "r1") -> dict:
        self.send({"id": request_id, "action": action, "payload": payload})
        return self.result(request_id)

    def result(self, request_id: str, events: list[dict] | None = None) -> dict:
        """Read until the final line of `request_id`; its events are appended to `events`."""
        while True:
            message = self.read()
            if message.get("id") == request_id and "type" not in message:
                return message
            if events is not None:
                events.append(message)

    def results(self, *request_ids: str) -> dict[str, dict]:
        found: dict[str, dict] = {}
        while len(found) < len(request_ids):
            message = self.read()
            if "type" not in message:
                assert message["id"] in request_ids, message
                found[message["id"]] = message
        return found

    def wait(self, timeout: float = TIMEOUT) -> int:
        """The exit code, once the pod has exited and all its output has been read."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"pod still running after {timeout}s; stderr:\n{self.stderr}") from None
        for thread in self._threads:
            thread.join(5)
        return code

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for thread in self._threads:
            thread.join(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):  # stdin may be a broken pipe by now
                pass


def process_gone(pid: int) -> bool:
    """True once `pid` no longer runs (exited, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
    except FileNotFoundError:
        return True
    except OSError:
        pass
    else:
        return stat[stat.rfind(b")") + 2 :].split()[0] == b"Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.05)
    return process_gone(pid)


def kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
