"""A real podkeeper daemon for the client's tests: `node bin/podkeeper.js daemon` on a temporary home.

One daemon for the session (its `python-exec` pod is shared by the tests, as a user's would be), in
venv mode, building the pod's env offline from a wheelhouse made here (cloudpickle repacked from this
interpreter, so both sides pickle alike, and `pk-exec-dep`, a per-request dependency). The daemon is
stopped (SIGTERM, then SIGKILL to its process group) and its home removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent / "src"))  # the package under test, without installing it

BIN = ROOT / "bin" / "podkeeper.js"
MAKE_WHEELHOUSE = ROOT / "recipes" / "python-exec" / "tests" / "make_wheelhouse.py"
RUNNER = ROOT / "pods" / "podkeeper_pod"


class Daemon:
    def __init__(self, home: Path, proc: subprocess.Popen, log: Path) -> None:
        self.home = home
        self.socket = str(home / "podkeeper.sock")
        self.proc = proc
        self.log = log

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
        return True


def _old_runner_recipe(root: Path, home: Path, lib: Path) -> None:
    """`old-runner`: a recipe whose pod imports a copy of the runner that speaks pod protocol 1
    (another podkeeper version's) from `lib`, which a launcher's wrapper (`env PYTHONPATH=…`, as a
    container or another host with another podkeeper has) puts ahead of the daemon's own: its pod
    fails with PROTOCOL_MISMATCH. (A copy in the recipe's own folder is never imported.)"""
    shutil.copytree(RUNNER, lib / "podkeeper_pod", ignore=shutil.ignore_patterns("__pycache__"))
    protocol = lib / "podkeeper_pod" / "protocol.py"
    source = protocol.read_text()
    assert "PROTOCOL_VERSION = 2\n" in source
    protocol.write_text(source.replace("PROTOCOL_VERSION = 2\n", "PROTOCOL_VERSION = 1\n"))
    recipe = root / "old-runner"
    recipe.mkdir(parents=True)
    (recipe / "recipe.json").write_text('{"name": "old-runner", "capability": "old-runner", "entry": "pod.py"}')
    (recipe / "pod.py").write_text("def process(payload, ctx):\n    return payload\n")
    launcher = {"kind": "command", "argv": ["env", f"PYTHONPATH={lib}"], "locality": "local"}
    config = {"launchers": {"wrapped": launcher}, "placement": {"old-runner": "wrapped"}}
    (home / "config.json").write_text(json.dumps(config))


@pytest.fixture(scope="session")
def daemon():
    node = os.environ.get("PODKEEPER_NODE") or shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH (or set PODKEEPER_NODE): the client tests run a real daemon")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 22:
        pytest.fail(
            f"{node} is Node {version}; podkeeper needs Node >= 22 (put it first on PATH, or set PODKEEPER_NODE)"
        )
    if not (ROOT / "dist" / "cli" / "main.js").exists():
        pytest.fail("dist/ is missing: run `npm run build` before the client tests")
    base = Path(tempfile.mkdtemp(prefix="pk-client-"))
    home, wheels, cache = base / "home", base / "wheels", base / "uv-cache"
    home.mkdir(mode=0o700)  # a home podkeeper did not create must be private already
    subprocess.run([sys.executable, str(MAKE_WHEELHOUSE), str(wheels)], check=True, capture_output=True)
    _old_runner_recipe(base / "recipes", home, base / "old-runner-lib")
    env = {k: v for k, v in os.environ.items() if k not in ("PODKEEPER_HOME", "PODKEEPER_SOCKET")}
    env.update(
        PODKEEPER_ENV_MODE="venv",
        PODKEEPER_WHEELHOUSE=str(wheels),
        PODKEEPER_LOG_LEVEL="warn",
        PODKEEPER_PYTHON=sys.executable,
        PODKEEPER_RECIPE_PATH=str(base / "recipes"),
        UV_OFFLINE="1",
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(cache),
    )
    log = base / "daemon.stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [node, str(BIN), "daemon", "--home", str(home)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    running = Daemon(home, proc, log)
    try:
        deadline = time.monotonic() + 20
        while not _accepts(running.socket):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the daemon did not start:\n{running.stderr()}")
            time.sleep(0.05)
        yield running
    finally:
        _stop(proc)
        shutil.rmtree(base, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything of its group still there (it should not be)
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.fixture
def client(daemon):
    from podkeeper_client import Podkeeper

    with Podkeeper(socket=daemon.socket) as pk:
        yield pk
