"""The python-exec modules one by one: capture, instances, requirements, requests, manifest."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import sys
import threading
from pathlib import Path

import pytest

from podkeeper_exec import capture
from podkeeper_exec.dependencies import satisfied
from podkeeper_exec.errors import RequestError
from podkeeper_exec.instances import InstanceRegistry
from podkeeper_exec.manifest import Manifest, ManifestError
from podkeeper_exec.request import parse_request


class _Sink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_capture_follows_the_context_of_each_thread_and_task():
    sink = _Sink()
    proxy = capture.StreamProxy(sink)
    outputs: dict[str, str] = {}
    barrier = threading.Barrier(3)

    def request(tag: str) -> None:
        cap = capture.Capture(10_000)
        token = capture.CURRENT.set(cap)
        try:
            for i in range(50):
                proxy.write(f"{tag}{i} ")
                if i == 10:
                    barrier.wait(5)
        finally:
            capture.CURRENT.reset(token)
        outputs[tag] = cap.text()

    threads = [threading.Thread(target=request, args=(tag,)) for tag in "ab"]
    for thread in threads:
        thread.start()
    barrier.wait(5)
    proxy.write("outside ")
    for thread in threads:
        thread.join(5)
    assert outputs["a"] == "".join(f"a{i} " for i in range(50))
    assert outputs["b"] == "".join(f"b{i} " for i in range(50))
    assert sink.text == "outside "

    async def task(tag: str) -> str:
        cap = capture.Capture(10_000)
        capture.CURRENT.set(cap)  # a task runs in its own copy of the context
        for i in range(3):
            proxy.write(f"{tag}{i}")
            await asyncio.sleep(0)
        return cap.text()

    async def both() -> list[str]:
        return await asyncio.gather(task("x"), task("y"))

    assert contextvars.copy_context().run(asyncio.run, both()) == ["x0x1x2", "y0y1y2"]


def test_capture_is_bounded_and_says_how_much_it_dropped():
    cap = capture.Capture(5)
    cap.write("abc")
    cap.write("defgh")
    assert cap.text() == "abcde\n[podkeeper: output truncated, 3 more characters]\n"
    lone = capture.Capture(10)
    lone.write("\ud800x")
    assert lone.text() == "\\ud800x"


def test_capture_keeps_each_source_apart_and_all_of_them_in_order():
    cap = capture.Capture(1_000)
    cap.write("out1 ")
    cap.write("err ", "stderr")
    cap.write("log ", "logs")
    cap.write("out2")
    assert cap.text() == "out1 err log out2"
    assert cap.text("stdout") == "out1 out2"
    assert cap.text("stderr") == "err "
    assert cap.text("logs") == "log "


def test_instances_drop_the_least_recently_used_past_the_bound():
    dropped: list[str] = []
    registry = InstanceRegistry(2, on_drop=lambda instance: dropped.append(instance.instance_id))
    registry.add("a", "A", object())
    registry.add("b", "B", object())
    assert registry.get("a") is not None  # a is now the most recently used
    registry.add("c", "C", object())
    assert dropped == ["b"]
    assert [item["instance_id"] for item in registry.list()] == ["a", "c"]
    entry = registry.get("a")
    registry.touch(entry)
    assert entry.info()["method_calls"] == 1
    assert registry.remove("a") is True and registry.remove("a") is False
    with pytest.raises(ValueError, match="maxInstances"):
        InstanceRegistry(0)


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        ("pytest", True),
        ("PyTest", True),
        ("pytest>=1.0", True),
        ("pytest>=1.0, <1000", True),
        ("pytest<1.0", False),
        ("pytest==0.0.1", False),
        ("pk-surely-not-installed", False),
        ("pytest[testing]", None),
        ("pytest; python_version > '3'", None),
        ("pytest==8.*", None),
    ],
)
def test_requirements_satisfied_or_not_or_left_to_uv(requirement, expected):
    assert satisfied(requirement) is expected


def test_requests_are_checked_field_by_field():
    request = parse_request({"function_name": "f", "function_code": "def f(): pass", "accelerate_downloads": True})
    assert (request.serialization, request.args, request.kwargs, request.method_name) == (
        "cloudpickle",
        [],
        {},
        "__call__",
    )
    assert request.create_new_instance is True
    for payload, message in [
        (None, "must be a JSON object"),
        ({"function_name": ""}, "`function_name` must be a non-empty string"),
        ({"execution_type": "class"}, "`class_name` is required"),
        ({"function_name": "f", "execution_type": "method"}, "`execution_type` must be one of function, class"),
        ({"function_name": "f", "dependencies": ["ok", 3]}, "`dependencies[1]` must be a non-empty string"),
        ({"function_name": "f", "create_new_instance": "yes"}, "`create_new_instance` must be a boolean"),
        ({"function_name": "f", "function_code": "x", "function_pickle": "y"}, "at most one of"),
    ]:
        with pytest.raises(RequestError, match=message.replace("[", r"\[").replace("(", r"\(")):
            parse_request(payload)


def test_a_broken_manifest_names_the_entry(tmp_path):
    assert Manifest.load(str(tmp_path)).names() == {"functions": [], "classes": []}
    path = tmp_path / "podkeeper.manifest.json"
    for data, message in [
        ({"functions": {"f": "no-colon"}}, "`functions.f`.handler must look like"),
        ({"functions": {"f": {"handler": "m:f", "async": True}}}, "unknown field `async`"),
        ({"functions": {"f": {"handler": "m:f", "is_async": "no"}}}, "is_async must be a boolean"),
        ({"routes": {}}, "unknown field `routes`"),
    ]:
        path.write_text(json.dumps(data))
        with pytest.raises(ManifestError, match=message.replace("(", r"\(")):
            Manifest.load(str(tmp_path))
    path.write_text(json.dumps({"functions": {"f": "mod:f", "g": {"handler": "mod:g", "is_async": True}}}))
    manifest = Manifest.load(str(tmp_path))
    assert manifest.functions["g"].is_async is True
    assert manifest.names() == {"functions": ["f", "g"], "classes": []}


def test_system_packages_are_found_or_named_with_the_command_that_installs_them(monkeypatch):
    from podkeeper_exec import system

    assert system.ensure_system_packages(["sh"]) == {"installed": [], "already_present": ["sh"]}
    monkeypatch.setattr(system, "_in_container", lambda: False)  # never apt-get from a test
    with pytest.raises(system.DependencyError, match=r"sudo apt-get install -y pk-surely-not-a-package"):
        system.ensure_system_packages(["pk-surely-not-a-package"])


def test_unknown_fields_are_ignored_with_a_warning_and_serialization_has_two_spellings():
    request = parse_request({"function_name": "f", "serialization_format": "json", "from_the_future": 1})
    assert request.serialization == "json"
    assert len(request.warnings) == 1 and "ignored unknown field `from_the_future`" in request.warnings[0]
    assert parse_request({"function_name": "f", "serialization": "json"}).serialization == "json"
    assert parse_request({"function_name": "f", "serialization": "json", "serialization_format": "json"}).warnings == []
    with pytest.raises(RequestError, match="disagree"):
        parse_request({"function_name": "f", "serialization": "json", "serialization_format": "cloudpickle"})
    with pytest.raises(RequestError, match=r"`modules.a.py` must be the module's source text"):
        parse_request({"function_name": "f", "modules": {"a.py": 1}})


def test_modules_are_importable_until_closed_then_gone_from_sys_path_modules_and_disk():
    import importlib
    import os

    from podkeeper_exec.modules import ModuleDir

    first = ModuleDir(
        {"pk_mod_a.py": "VALUE = 1\n", "pk_pkg/sub.py": "from pk_mod_a import VALUE\nTWICE = VALUE * 2\n"}
    )
    try:
        assert importlib.import_module("pk_pkg.sub").TWICE == 2
    finally:
        first.close()
    assert first.path not in sys.path
    assert not os.path.exists(first.path)
    assert not [name for name in sys.modules if name.split(".")[0] in ("pk_mod_a", "pk_pkg")]
    second = ModuleDir({"pk_mod_a.py": "VALUE = 5\n"})  # another request's version of the same name
    try:
        assert importlib.import_module("pk_mod_a").VALUE == 5
    finally:
        second.close()
    for bad in ("/abs.py", "../up.py", "a//b.py", "a\\b.py", "./a.py"):
        with pytest.raises(RequestError, match="relative POSIX path"):
            ModuleDir({bad: ""})


def test_an_unpickling_failure_in_cloudpickle_names_both_versions_and_the_fix():
    from podkeeper_exec.codecs import CloudpickleCodec, pod_cloudpickle_version
    from podkeeper_exec.errors import SerializationError

    missing = base64.b64encode(b"ccloudpickle.cloudpickle\n_no_such_helper\n.").decode()
    pod = pod_cloudpickle_version()
    with pytest.raises(SerializationError) as plain:
        CloudpickleCodec().decode(missing, "`args[0]`")
    assert f"this pod has cloudpickle {pod}" in str(plain.value)
    assert "podkeeper's client sends `cloudpickle_version`" in str(plain.value)
    with pytest.raises(SerializationError) as versioned:
        CloudpickleCodec().decode(missing, "`args[0]`", "9.9.9")
    text = str(versioned.value)
    assert f"cloudpickle 9.9.9 (the client's) and this pod has cloudpickle {pod}" in text
    assert f"cloudpickle=={pod} where the client runs, or cloudpickle==9.9.9 in the pod's env" in text
    unrelated = base64.b64encode(b"cos\n_no_such_thing\n.").decode()
    with pytest.raises(SerializationError) as other:
        CloudpickleCodec().decode(unrelated, "`args[0]`")
    assert "cloudpickle" not in str(other.value).split("could not be unpickled")[1]


@pytest.mark.parametrize("name", ["logging.py", "secrets.py", "types.py", "json/__init__.py"])
def test_a_sent_module_that_shadows_the_standard_library_is_refused_and_the_real_one_stays(name):
    import logging

    from podkeeper_exec.modules import ModuleDir

    top = name.split("/")[0].removesuffix(".py")
    before = sys.modules.get(top)
    with pytest.raises(RequestError, match=rf"`modules` file {name!r} .*standard library"):
        ModuleDir({name: "VALUE = 1\n"})
    assert sys.modules.get(top) is before
    assert sys.modules["logging"] is logging and hasattr(logging, "getLogger")
    assert not [path for path in sys.path if "pk-exec-modules-" in path]


def test_a_sent_module_named_like_one_imported_from_elsewhere_is_refused():
    from podkeeper_exec.modules import ModuleDir

    assert "pytest" in sys.modules  # imported from site-packages, not from a request
    with pytest.raises(RequestError, match=r"`modules` file 'pytest.py' .*already imported"):
        ModuleDir({"pytest.py": "VALUE = 1\n"})
    assert sys.modules["pytest"] is pytest


def test_an_earlier_requests_copy_is_replaced_but_nothing_else_is_dropped():
    import importlib

    from podkeeper_exec.modules import ModuleDir

    first = ModuleDir({"pk_mod_b.py": "VALUE = 1\n"})
    assert importlib.import_module("pk_mod_b").VALUE == 1
    first.path = first.path + "-moved"  # as if it were still in use by an instance of another request
    try:
        second = ModuleDir({"pk_mod_b.py": "VALUE = 2\n"})  # drops the first request's copy
        try:
            assert importlib.import_module("pk_mod_b").VALUE == 2
        finally:
            second.close()
    finally:
        first.path = first.path.removesuffix("-moved")
        first.close()


class _Ctx:
    cancelled = False

    def progress(self, value, message=None):
        pass

    def log(self, message, level="info"):
        pass

    def emit(self, data):
        pass


@pytest.mark.filterwarnings("ignore:coroutine 'f' was never awaited")
@pytest.mark.parametrize("kind", ["coroutine", "async generator"])
def test_an_async_result_dropped_before_it_starts_takes_its_modules_off_sys_path(kind):
    import gc

    from podkeeper_exec.service import ExecService

    code = (
        "async def f():\n    import pk_mod_d\n    return pk_mod_d.X\n"
        if kind == "coroutine"
        else "async def f():\n    import pk_mod_d\n    yield pk_mod_d.X\n"
    )
    service = ExecService(str(Path(__file__).resolve().parent.parent), {}, lambda message: None)
    pending = service.execute(
        {"function_name": "f", "function_code": code, "modules": {"pk_mod_d.py": "X = 1\n"}, "serialization": "json"},
        _Ctx(),
    )
    assert [path for path in sys.path if "pk-exec-modules-" in path]
    pending.close()  # cancelled before its first step: the runner closes it, or drops it
    del pending
    gc.collect()
    assert not [path for path in sys.path if "pk-exec-modules-" in path]


def test_the_standard_library_is_recognised_without_stdlib_module_names(monkeypatch):
    from podkeeper_exec import modules

    monkeypatch.delattr(sys, "stdlib_module_names")  # as on Python 3.9
    assert modules._is_stdlib("logging") and modules._is_stdlib("sys") and modules._is_stdlib("json")
    assert not modules._is_stdlib("pytest") and not modules._is_stdlib("pk_not_a_module")
