"""Real runner processes: start-up failures, every exit path, and no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from helpers import PODS_DIR, PYTHON, kill_quietly, process_gone, wait_gone, write_recipe

SLOW = """
    import time

    def process(payload, ctx):
        time.sleep(payload)
        return payload
"""


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "import no_such_module_for_podkeeper\n",
            "ModuleNotFoundError: No module named 'no_such_module_for_podkeeper'",
        ),
        (
            "def setup(ctx):\n    raise RuntimeError('no GPU here')\ndef process(p, ctx):\n    pass\n",
            "RuntimeError: no GPU here",
        ),
        (
            "def process(p, ctx):\n    pass\nasync def setup(ctx):\n    raise OSError('async setup failed')\n",
            "OSError: async",
        ),
        ("x = 1 +\n", "SyntaxError"),
    ],
    ids=["import error", "setup error", "async setup error", "syntax error"],
)
def test_load_failures_exit_3_with_a_traceback(tmp_path: Path, start_pod, code: str, expected: str) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", code))
    assert pod.wait() == 3
    pod.kill()  # joins the output pumps
    assert "Traceback (most recent call last)" in pod.stderr
    assert expected in pod.stderr
    assert pod.raw_stdout == []  # no ready


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ACTIONS = ('ping',)\ndef ping(p, ctx):\n    pass\n", "reserved"),
        ("ACTIONS = ('missing',)\n", "'missing' must be a module-level function"),
        ("def helper():\n    pass\n", "defines no actions"),
    ],
)
def test_unusable_recipes_exit_3(tmp_path: Path, start_pod, code: str, expected: str) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", code))
    assert pod.wait() == 3
    pod.kill()
    assert expected in pod.stderr


def test_setup_logs_before_ready(tmp_path: Path, start_pod) -> None:
    code = "def setup(ctx):\n    ctx.log('step 1')\n    ctx.log('step 2', 'warning')\ndef process(p, ctx):\n    pass\n"
    pod = start_pod(write_recipe(tmp_path / "r", code))
    assert [pod.read()["message"], pod.read()["message"], pod.read()["type"]] == ["step 1", "step 2", "ready"]


def test_bad_invocations_exit_2(tmp_path: Path, start_pod) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "recipe.json").write_text("{not json")
    nameless = write_recipe(tmp_path / "nameless", SLOW)
    (nameless / "recipe.json").write_text('{"capability": "x", "entry": "main.py"}')
    cases = [
        ([], "usage"),
        ([str(tmp_path / "absent")], "does not exist"),
        ([str(tmp_path)], "recipe.json"),
        ([str(broken)], "not valid JSON"),
        ([str(nameless)], "`name` must be a non-empty string"),
    ]
    for args, expected in cases:
        pod = start_pod(tmp_path, args=args)
        assert pod.wait() == 2, args
        pod.kill()
        assert expected in pod.stderr, (args, pod.stderr)


def test_end_of_input_exits_0_abandoning_running_handlers(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", SLOW))
    pod.ready()
    pod.send({"id": "long", "payload": 60})
    pod.close_stdin()
    assert pod.wait(10) == 0


def test_sigterm_exits_0(tmp_path: Path, start_pod) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", SLOW))
    pod.ready()
    pod.send({"id": "long", "payload": 60})
    assert pod.call("ping", None, "p")["success"] is True
    os.kill(pod.pid, signal.SIGTERM)
    assert pod.wait(10) == 0


@pytest.mark.parametrize(
    "blocker",
    [
        "time.sleep(60)",
        # os.system() waits in waitpid(), which the C library retries on EINTR: a SIGTERM handler
        # that can run only on the thread running setup() would wait for the whole `sleep 30`.
        "os.system('sleep 30')",
    ],
)
def test_sigterm_during_a_long_setup_exits_0(tmp_path: Path, start_pod, blocker: str) -> None:
    code = f"import os, time\ndef setup(ctx):\n    ctx.log('loading')\n    {blocker}\ndef process(p, ctx):\n    pass\n"
    pod = start_pod(write_recipe(tmp_path / "r", code))
    assert pod.read()["message"] == "loading"
    os.kill(pod.pid, signal.SIGTERM)
    assert pod.wait(5) == 0


SPAWNER = """
    import subprocess, sys

    ACTIONS = ("stubborn",)

    def process(payload, ctx):
        return subprocess.Popen(["sleep", "60"]).pid

    def stubborn(payload, ctx):
        code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ok', flush=True); time.sleep(60)"
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        child.stdout.readline()  # SIGTERM is ignored from here on
        return child.pid
"""


@pytest.mark.parametrize("exit_by", ["end of input", "shutdown", "SIGTERM"])
def test_no_grandchild_outlives_the_runner(tmp_path: Path, start_pod, exit_by: str) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", SPAWNER))
    pod.ready()
    pids = [pod.call("process", None, "a")["result"], pod.call("stubborn", None, "b")["result"]]
    try:
        assert not any(process_gone(pid) for pid in pids)
        if exit_by == "end of input":
            pod.close_stdin()
        elif exit_by == "shutdown":
            assert pod.call("shutdown", None, "bye")["success"] is True
        else:
            os.kill(pod.pid, signal.SIGTERM)
        assert pod.wait() == 0
        for pid in pids:
            assert wait_gone(pid, 2.0), f"grandchild {pid} still running after the runner exited"
    finally:
        for pid in pids:
            kill_quietly(pid)


@pytest.mark.parametrize("entry", ["-m podkeeper_pod", "-c 'from podkeeper_pod.guardian import run; run()'"])
def test_group_is_left_alone_when_the_runner_does_not_lead_it(
    tmp_path: Path, pod_env: dict[str, str], entry: str
) -> None:
    recipe = write_recipe(tmp_path / "r", SLOW)
    pid_file = tmp_path / "sibling.pid"
    script = f'sleep 60 </dev/null >/dev/null 2>&1 & echo $! > "{pid_file}"; "{PYTHON}" -u {entry} "{recipe}"; echo "exit $?" >&2'
    shell = subprocess.Popen(
        ["sh", "-c", script],
        env=pod_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert shell.stdout is not None and b'"ready"' in shell.stdout.readline()
        shell.communicate(b"", timeout=15)  # end of input: the runner exits, the shell then too
        sibling = int(pid_file.read_text())
        assert not process_gone(sibling), "the runner killed a process group it does not lead"
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()


def test_runner_exits_when_its_parent_dies(tmp_path: Path, pod_env: dict[str, str]) -> None:
    recipe = write_recipe(tmp_path / "r", SLOW)
    pid_file = tmp_path / "runner.pid"
    parent_code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-u', '-m', 'podkeeper_pod', {str(recipe)!r}], start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    # The runner inherits this test's pipe as stdin, so the parent's death does not close its input.
    parent = subprocess.Popen(
        [PYTHON, "-c", parent_code], env=pod_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=PODS_DIR
    )
    try:
        assert parent.stdout is not None and b'"ready"' in parent.stdout.readline()
        runner = int(pid_file.read_text())
        parent.kill()
        parent.wait()
        assert wait_gone(runner, 5.0), "runner still alive 5 s after its parent died"
    finally:
        kill_quietly(parent.pid)
        parent.wait()
        if pid_file.exists():  # the runner leads its own group: kill all of it
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
        for stream in (parent.stdin, parent.stdout):
            stream.close()


GUARDIAN = ["-c", "from podkeeper_pod.guardian import run; run()"]

ESCAPER = """
    import os, time

    def process(payload, ctx):
        read_end, write_end = os.pipe()
        intermediate = os.fork()
        if intermediate == 0:
            os.setsid()  # leaves the pod's session and process group
            if os.fork() == 0:
                os.write(write_end, str(os.getpid()).encode())
                time.sleep(60)
            os._exit(0)
        os.waitpid(intermediate, 0)
        return int(os.read(read_end, 32))
"""


@pytest.mark.parametrize("exit_by", ["SIGKILL of the runner", "end of input"])
def test_the_guardian_ends_setsid_escapees_and_reports_how_the_runner_ended(
    tmp_path: Path, start_pod, exit_by: str
) -> None:
    pod = start_pod(write_recipe(tmp_path / "r", ESCAPER), entry=GUARDIAN)
    runner = pod.ready()["pid"]
    assert runner != pod.pid  # the daemon spawns the guardian; `ready` names the runner it forked
    escapee = pod.call("process", None, "e")["result"]
    try:
        assert os.getsid(escapee) != os.getsid(pod.pid)
        if exit_by == "end of input":
            pod.close_stdin()
            assert pod.wait() == 0
        else:
            os.kill(runner, signal.SIGKILL)
            assert pod.wait() == -signal.SIGKILL  # the guardian dies of the runner's signal
        assert wait_gone(escapee, 2.0), "setsid() escapee still running after the pod ended"
    finally:
        kill_quietly(escapee)
