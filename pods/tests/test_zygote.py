"""The zygote's pieces with real processes: a pod forked from a zygote answers and outlives it, it
reports its exit as the daemon reads a child's, the daemon's death ends a forked pod's tree, a
zygote that cannot fork says why and refuses, a failing preload is a clear exit 3, and the thread
check and the framing. The daemon's side is zygote_client.py (in the daemon: forked-spare.ts)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from helpers import PYTHON, TIMEOUT, kill_quietly, wait_gone, write_recipe
from zygote_client import ForkedPod, connect

from podkeeper_pod import wire, zygote
from podkeeper_pod.forked import native_threads

ZYGOTE = ["-u", "-c", "from podkeeper_pod.zygote import run; run()"]
CODE = """
    import os, re
    import warm

    def process(payload, ctx):
        if payload and payload.get("hold"):  # one C call that holds the GIL for minutes
            ctx.progress(0.0, "holding")
            re.match(r"(x+x+)+y", "x" * 40)
        if payload and payload.get("exit"):
            import sys
            print("leaving", file=sys.stderr, flush=True)
            os._exit(payload["exit"])
        if payload and payload.get("abort"):
            os.abort()
        return {"pid": os.getpid(), "warmedIn": warm.WARMED_IN, "podId": os.environ.get("PODKEEPER_POD_ID")}
"""
WARM = "import os\nWARMED_IN = None\n\ndef preload():\n    global WARMED_IN\n    WARMED_IN = os.getpid()\n"


def _eventually(check, timeout: float = TIMEOUT) -> bool:
    """Poll `check` until it holds or `timeout` passes (stderr is read by another thread)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    directory = write_recipe(tmp_path / "recipe", CODE, preload=["json", "warm:preload"])
    (directory / "warm.py").write_text(WARM)
    return directory


@pytest.fixture
def forked(pod_env: dict[str, str]):
    """`forked(path, recipe_dir, **env)`: a pod of the zygote at `path`, taken as the daemon takes one."""
    pods: list[ForkedPod] = []

    def start(path: str, recipe_dir: Path, **extra_env: str) -> ForkedPod:
        pod = ForkedPod(path, {**pod_env, **extra_env}, str(recipe_dir))
        pods.append(pod)
        return pod

    yield start
    for pod in pods:
        kill_quietly(-pod.pid)
        pod.close()


def _lines(proc: subprocess.Popen) -> tuple[dict, dict]:
    """The zygote's ready line, then its first word on a spare (its pid, or why there is none)."""
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    assert ready["type"] == "zygote", ready
    return ready, json.loads(proc.stdout.readline())


@pytest.fixture
def start_zygote(pod_env: dict[str, str], tmp_path: Path):
    started: list[subprocess.Popen] = []

    def start(recipe_dir: Path) -> tuple[subprocess.Popen, str]:
        path = str(tmp_path / "z.sock")
        proc = subprocess.Popen(
            [PYTHON, *ZYGOTE, str(recipe_dir), path],
            env=pod_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        started.append(proc)
        return proc, path

    yield start
    for proc in started:
        kill_quietly(proc.pid)
        proc.wait()
        assert proc.stderr is not None and proc.stdout is not None
        proc.stderr.close()
        proc.stdout.close()
        if proc.stdin is not None:
            proc.stdin.close()


def test_a_forked_pod_answers_with_its_own_environment_and_outlives_the_zygote(recipe, start_zygote, forked):
    proc, path = start_zygote(recipe)
    line, spare = _lines(proc)
    assert line["pid"] == proc.pid
    assert spare["type"] == "spare"
    pod = forked(path, recipe, PODKEEPER_POD_ID="p-1")
    assert pod.pid == spare["pid"]  # the guardian the zygote announced leads the pod's group
    ready = pod.ready()
    assert ready["guardian"] == pod.pid and ready["pid"] not in (pod.pid, proc.pid)
    assert os.getpgid(ready["pid"]) == pod.pid
    answer = pod.call(payload={})["result"]
    assert answer == {"pid": ready["pid"], "warmedIn": proc.pid, "podId": "p-1"}
    assert proc.stdin is not None
    proc.stdin.close()  # end of input: the zygote exits, its pods do not
    assert proc.wait(TIMEOUT) == 0
    assert not os.path.exists(path)
    assert pod.call(payload={}, request_id="r2")["result"]["pid"] == ready["pid"]
    pod.close_stdin()
    assert pod.wait() == (0, None)
    assert wait_gone(ready["pid"], TIMEOUT) and wait_gone(ready["guardian"], TIMEOUT)


def test_a_spare_the_daemon_holds_serves_its_pod_after_the_zygote_is_gone(recipe, start_zygote, pod_env):
    proc, path = start_zygote(recipe)
    _, spare = _lines(proc)
    control, stdio, stderr = connect(path, None)
    with control, stdio, stderr:
        control.settimeout(TIMEOUT)
        assert wire.receive(control)[0] == ["spare", spare["pid"]]  # held, before any pod asks
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(TIMEOUT) == 0  # the zygote is gone (its socket too) before the pod's go
        wire.send(control, ("go", {**pod_env, "PODKEEPER_POD_ID": "late"}, str(recipe)))
        assert wire.receive(control)[0] == ["forked", spare["pid"]]
        lines = stdio.makefile("rb")
        ready = json.loads(lines.readline())
        while ready["type"] == "log":
            ready = json.loads(lines.readline())
        assert ready["type"] == "ready" and ready["guardian"] == spare["pid"]
        stdio.sendall(b'{"id": "r1", "action": "process", "payload": {}}\n')
        assert json.loads(lines.readline())["result"]["podId"] == "late"
        stdio.shutdown(socket.SHUT_WR)
        assert wire.receive(control)[0] == ["exited", 0, None]
        lines.close()
    assert wait_gone(ready["pid"], TIMEOUT) and wait_gone(spare["pid"], TIMEOUT)


@pytest.mark.parametrize(
    ("payload", "exit"),
    [({"exit": 7}, (7, None)), ({"abort": True}, (None, 6))],
    ids=["an exit code", "a signal"],
)
def test_a_forked_pod_reports_its_exit_as_a_spawned_child_s(recipe, start_zygote, forked, payload, exit):
    proc, path = start_zygote(recipe)
    _lines(proc)
    pod = forked(path, recipe)
    pod.ready()
    pod.send({"id": "r1", "action": "process", "payload": payload})
    assert pod.wait() == exit
    if payload.get("exit"):
        assert "leaving" in pod.stderr  # its stderr is the pod's log, as a spawned child's


def test_the_daemon_dying_ends_a_forked_pod_even_while_it_holds_the_gil(recipe, start_zygote, pod_env, tmp_path):
    proc, path = start_zygote(recipe)
    _lines(proc)
    # A stand-in daemon: takes the zygote's spare pod, sends a request that holds the GIL (so the
    # runner cannot notice anything itself), prints the ready line once it runs, then waits to be killed.
    daemon = f"""
import json, sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
from zygote_client import connect
control, stdio, stderr = connect({path!r}, dict(__import__("os").environ), {str(recipe)!r})
lines = stdio.makefile("rb")
ready = lines.readline()
while b'"ready"' not in ready:
    ready = lines.readline()
stdio.sendall(b'{{"id": "h", "payload": {{"hold": true}}}}\\n')
while b'"progress"' not in lines.readline(): pass
sys.stdout.write(ready.decode()); sys.stdout.flush()
time.sleep(3600)
"""
    parent = subprocess.Popen([PYTHON, "-c", daemon], env=pod_env, stdout=subprocess.PIPE)
    ready: dict = {}
    try:
        assert parent.stdout is not None
        ready = json.loads(parent.stdout.readline())
        kill_quietly(parent.pid)
        parent.wait()
        assert wait_gone(ready["pid"], TIMEOUT), "the runner outlived the daemon"
        assert wait_gone(ready["guardian"], TIMEOUT), "the forked guardian outlived the daemon"
    finally:
        for pid in (parent.pid, ready.get("pid", 0), ready.get("guardian", 0)):
            if pid > 0:
                kill_quietly(pid)
        if parent.stdout is not None:
            parent.stdout.close()


def test_a_failing_preload_exits_3_naming_the_entry(tmp_path, start_zygote):
    directory = write_recipe(tmp_path / "bad", CODE, preload=["json", "no_such_module_here"])
    proc, _ = start_zygote(directory)
    assert proc.wait(TIMEOUT) == 3
    assert proc.stderr is not None
    assert "preload 'no_such_module_here': importing 'no_such_module_here' failed" in proc.stderr.read().decode()


def test_a_thread_makes_forking_unsafe() -> None:
    baseline = native_threads()
    assert zygote.unsafe_to_fork(baseline) is None
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        code, reason = zygote.unsafe_to_fork(baseline) or ("", "")
        assert code == "ZYGOTE_THREADS"
        assert reason.startswith("1 Python thread(s)")
    finally:
        stop.set()
        thread.join()


def test_an_initialised_cuda_makes_forking_unsafe(monkeypatch) -> None:
    # A stand-in for torch (pure logic: what the check reads is `torch.cuda.is_initialized()`).
    fake = types.ModuleType("torch")
    fake.cuda = types.SimpleNamespace(is_initialized=lambda: False)
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert zygote.unsafe_to_fork(None) is None
    fake.cuda = types.SimpleNamespace(is_initialized=lambda: True)
    assert (zygote.unsafe_to_fork(None) or ("",))[0] == "ZYGOTE_CUDA"


def test_frames_carry_descriptors_and_refuse_garbage() -> None:
    left, right = socket.socketpair()
    read_end, write_end = os.pipe()
    with left, right:
        wire.send(left, ("pod", {"A": "1"}, "/"), (read_end,))
        message, fds = wire.receive(right, want_fds=True)
        assert message == ["pod", {"A": "1"}, "/"]
        assert len(fds) == 1
        os.write(write_end, b"x")
        assert os.read(fds[0], 1) == b"x"  # the same pipe, through another descriptor
        left.sendall((5).to_bytes(4, "little") + b"\x00oops")
        with pytest.raises(wire.WireError):
            wire.receive(right)
        left.close()
        assert wire.receive(right) == (None, [])
    for fd in (read_end, write_end, *fds):
        os.close(fd)


@pytest.mark.parametrize(
    ("role", "frame"),
    [(True, (5 << 20).to_bytes(4, "little")), (True, (5).to_bytes(4, "little") + b"\x00oops"), (False, b"")],
    ids=["a 5 MB message", "not JSON", "no role"],
)
def test_a_bad_start_request_leaves_no_descriptor_behind(recipe, start_zygote, role: bool, frame: bytes) -> None:
    proc, path = start_zygote(recipe)
    _lines(proc)
    guardian, runner = _spare(proc.pid)  # the spare pod's guardian accepts the connections
    fd_dirs = [f"/proc/{proc.pid}/fd", f"/proc/{guardian}/fd"]
    before = [len(os.listdir(fd_dir)) for fd_dir in fd_dirs]
    nonce = os.urandom(8)
    conns = [socket.socket(socket.AF_UNIX) for _ in range(3)]
    try:
        for conn, name in zip(conns, (b"c", b"o", b"e")):
            conn.connect(path)
            conn.sendall(name + nonce if role else b"x" * 9)
        if frame:
            conns[0].sendall(frame)
        conns[0].settimeout(TIMEOUT)
        while conns[0].recv(4096):  # the spare hangs up on a request it cannot read
            pass
        if role:  # it had answered, so it was the daemon's: it leaves, and the zygote forks the next
            assert wait_gone(guardian, TIMEOUT) and wait_gone(runner, TIMEOUT)
            assert _spare(proc.pid, not_this=guardian)[0] != guardian
            assert _eventually(lambda: len(os.listdir(fd_dirs[0])) == before[0], 5)
        else:  # connections that never said what they are: closed, and the spare still waits
            assert _eventually(lambda: [len(os.listdir(fd_dir)) for fd_dir in fd_dirs] == before, 5)
            assert _spare(proc.pid)[0] == guardian
    finally:
        for conn in conns:
            conn.close()


NATIVE_THREAD = """
import ctypes


def preload():
    # A thread of C code only (no Python thread state): pthread_create(sleep, 3600), as a native pool would.
    libc = ctypes.CDLL(None)
    libc.pthread_create.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    thread = ctypes.c_ulong()
    sleep = ctypes.cast(libc.sleep, ctypes.c_void_p)
    assert libc.pthread_create(ctypes.byref(thread), None, sleep, ctypes.c_void_p(3600)) == 0
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="native threads are counted in /proc (Linux)")
def test_a_native_thread_started_by_a_preload_function_refuses_the_fork(tmp_path, start_zygote):
    directory = write_recipe(tmp_path / "native", CODE, preload=["native:preload"])
    (directory / "native.py").write_text(NATIVE_THREAD)
    (directory / "warm.py").write_text(WARM)
    proc, path = start_zygote(directory)
    _, refusing = _lines(proc)
    assert refusing["type"] == "refusing" and refusing["code"] == "ZYGOTE_THREADS"
    assert refusing["reason"].startswith("1 native thread(s) were started after the preload imports")
    # Should the daemon connect anyway (the spare it was told of died meanwhile): refused on control.
    with socket.socket(socket.AF_UNIX) as control:
        control.connect(path)
        control.sendall(b"c" + os.urandom(8))
        control.settimeout(TIMEOUT)
        reply, _ = wire.receive(control)
        assert reply is not None and reply[:2] == ["refused", "ZYGOTE_THREADS"]


def _children(pid: int) -> list[int]:
    """Live children of `pid`, from /proc."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if fields[0] != b"Z" and int(fields[1]) == pid:
                found.append(int(name))
    return found


def _spare(zygote_pid: int, not_this: int = 0) -> tuple[int, int]:
    """The spare pod the zygote keeps: (guardian, runner), once both exist."""
    spare: list[tuple[int, int]] = []

    def found() -> bool:
        for guardian in _children(zygote_pid):
            runners = _children(guardian)
            if guardian != not_this and len(runners) == 1:
                spare.append((guardian, runners[0]))
                return True
        return False

    assert _eventually(found), f"no spare pod under the zygote {zygote_pid}"
    return spare[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the spare in /proc")
def test_a_pod_is_the_spare_forked_ahead_and_the_spare_goes_with_the_zygote(recipe, start_zygote, forked):
    proc, path = start_zygote(recipe)
    assert proc.stdout is not None and proc.stdin is not None
    _, spare = _lines(proc)
    guardian, runner = _spare(proc.pid)
    assert spare["pid"] == guardian
    pod = forked(path, recipe, PODKEEPER_POD_ID="p-1")
    ready = pod.ready()
    assert (ready["guardian"], ready["pid"]) == (guardian, runner)  # both forks were made before the request
    assert pod.call(payload={})["result"] == {"pid": runner, "warmedIn": proc.pid, "podId": "p-1"}
    next_guardian, next_runner = _spare(proc.pid, not_this=guardian)
    assert json.loads(proc.stdout.readline()) == {"type": "spare", "pid": next_guardian}
    proc.stdin.close()
    assert proc.wait(TIMEOUT) == 0
    assert wait_gone(next_guardian, TIMEOUT) and wait_gone(next_runner, TIMEOUT)  # no spare outlives the zygote
    assert pod.call(payload={}, request_id="r2")["result"]["pid"] == runner
    pod.close_stdin()
    assert pod.wait() == (0, None)
    assert wait_gone(runner, TIMEOUT) and wait_gone(guardian, TIMEOUT)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the spare in /proc")
def test_a_killed_spare_is_replaced_and_the_next_pod_comes_from_the_new_one(recipe, start_zygote, forked):
    proc, path = start_zygote(recipe)
    assert proc.stdout is not None
    _lines(proc)
    guardian, runner = _spare(proc.pid)
    kill_quietly(guardian)
    assert wait_gone(guardian, TIMEOUT) and wait_gone(runner, TIMEOUT)  # its runner reads end of input
    next_guardian, next_runner = _spare(proc.pid, not_this=guardian)
    assert json.loads(proc.stdout.readline()) == {"type": "spare", "pid": next_guardian}  # the daemon is told
    pod = forked(path, recipe)
    ready = pod.ready()
    assert (ready["guardian"], ready["pid"]) == (next_guardian, next_runner)
    assert pod.call(payload={})["result"]["warmedIn"] == proc.pid
