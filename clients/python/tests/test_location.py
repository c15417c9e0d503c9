"""The client finds the daemon where the daemon and the TypeScript client do: one home rule, and the
socket from `$PODKEEPER_SOCKET`, else a trusted `config.json`'s `socket`, else `<home>/podkeeper.sock`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podkeeper_client import default_socket
from podkeeper_client.location import default_home

ROOT = Path(__file__).resolve().parents[3]
PRINT_LOCATION = (
    "import json; from podkeeper_client.location import default_home, default_socket; "
    "print(json.dumps({'home': default_home(), 'socket': default_socket()}))"
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.delenv("PODKEEPER_SOCKET", raising=False)
    monkeypatch.setenv("PODKEEPER_HOME", str(home))
    return home


def test_config_json_socket_is_honoured_relative_to_the_home(home):
    (home / "config.json").write_text(json.dumps({"socket": "run/pk.sock"}))
    os.chmod(home / "config.json", 0o600)
    assert default_socket() == str(home / "run" / "pk.sock")
    assert default_socket(str(home)) == str(home / "run" / "pk.sock")


def test_a_config_json_others_may_write_is_ignored(home):
    (home / "config.json").write_text(json.dumps({"socket": "/tmp/someone-elses.sock"}))
    os.chmod(home / "config.json", 0o666)
    assert default_socket() == str(home / "podkeeper.sock")


def test_podkeeper_socket_wins_over_config_json(home, monkeypatch):
    (home / "config.json").write_text(json.dumps({"socket": "/tmp/from-config.sock"}))
    os.chmod(home / "config.json", 0o600)
    monkeypatch.setenv("PODKEEPER_SOCKET", "/tmp/from-env.sock")
    assert default_socket() == "/tmp/from-env.sock"


def test_an_empty_podkeeper_home_is_unset_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("PODKEEPER_HOME", "")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("PODKEEPER_SOCKET", raising=False)
    expected = (
        os.path.expanduser("~/Library/Application Support/podkeeper")
        if sys.platform == "darwin"
        else str(tmp_path / "data" / "podkeeper")
    )
    assert default_home() == expected
    assert default_socket() == os.path.join(expected, "podkeeper.sock")


def _node() -> str:
    node = os.environ.get("PODKEEPER_NODE") or shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH (or set PODKEEPER_NODE): this test compares with the TypeScript side")
    if not (ROOT / "dist" / "location" / "home.js").exists():
        pytest.fail("dist/ is missing: run `npm run build` before the client tests")
    return node


def test_the_same_home_and_socket_as_the_typescript_side(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "config.json").write_text(json.dumps({"socket": "sub/pk.sock"}))
    os.chmod(home / "config.json", 0o600)
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("PODKEEPER_", "XDG_DATA_HOME"))}
    cases = [
        {"XDG_DATA_HOME": str(tmp_path / "xdg")},
        {"XDG_DATA_HOME": str(tmp_path / "xdg"), "PODKEEPER_HOME": ""},
        {"PODKEEPER_HOME": str(home)},
        {"PODKEEPER_HOME": str(home), "PODKEEPER_SOCKET": str(tmp_path / "env.sock")},
        {"PODKEEPER_HOME": str(tmp_path / "missing")},
    ]
    script = (
        f"const m = await import({json.dumps((ROOT / 'dist' / 'location' / 'home.js').as_uri())});"
        "process.stdout.write(JSON.stringify(m.resolveLocation({})));"
    )
    for case in cases:
        env = {**bare, **case}
        typescript = subprocess.run(
            [_node(), "--input-type=module", "-e", script], env=env, capture_output=True, text=True, check=True
        )
        expected = json.loads(typescript.stdout)
        python = subprocess.run(
            [
                sys.executable,
                "-c",
                PRINT_LOCATION,
            ],
            env={**env, "PYTHONPATH": str(ROOT / "clients" / "python" / "src")},
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(python.stdout) == expected, case
