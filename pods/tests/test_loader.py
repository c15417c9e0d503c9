"""recipe.json reading, entry import and action discovery, in-process."""

from __future__ import annotations

import functools
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from podkeeper_pod import loader
from podkeeper_pod.loader import ASYNC_GENERATOR, COROUTINE, GENERATOR, SYNC, InvocationError, LoadError


def recipe_dir(tmp_path: Path, code: str, **fields: object) -> tuple[loader.Recipe, str]:
    """A recipe with a uniquely named entry module (sys.modules is process-wide)."""
    name = f"entry_{uuid.uuid4().hex}"
    fields = {"name": "r", "capability": "c", "entry": f"{name}.py", **fields}
    (tmp_path / "recipe.json").write_text(json.dumps(fields))
    (tmp_path / f"{name}.py").write_text(code)
    return loader.read_recipe(str(tmp_path)), name


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_read_recipe_defaults(tmp_path: Path) -> None:
    recipe, name = recipe_dir(tmp_path, "")
    assert (recipe.name, recipe.capability, recipe.entry) == ("r", "c", f"{name}.py")
    assert (recipe.concurrency, recipe.model, recipe.config) == (1, None, {})
    assert recipe.recipe_dir == str(tmp_path)
    recipe, _ = recipe_dir(tmp_path, "", concurrency=None, config=None, model="m", dependencies=["x"])
    assert (recipe.concurrency, recipe.model, recipe.config) == (1, "m", {})  # other fields: the daemon's


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "not valid JSON"),
        ("[]", "must hold a JSON object"),
        ('{"capability": "c", "entry": "e.py"}', "`name` must be a non-empty string, got None"),
        ('{"name": "", "capability": "c", "entry": "e.py"}', "`name` must be a non-empty string"),
        (
            '{"name": "n", "capability": "c", "entry": "e.py", "concurrency": 0}',
            "`concurrency` must be an integer >= 1",
        ),
        ('{"name": "n", "capability": "c", "entry": "e.py", "concurrency": "2"}', "`concurrency` must be an int"),
        ('{"name": "n", "capability": "c", "entry": "e.py", "config": []}', "`config` must be a dict"),
        ('{"name": "n", "capability": "c", "entry": "e.py", "model": 3}', "`model` must be a non-empty string"),
    ],
)
def test_read_recipe_errors_name_the_field(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "recipe.json").write_text(content)
    with pytest.raises(InvocationError, match=expected):
        loader.read_recipe(str(tmp_path))


def test_read_recipe_missing(tmp_path: Path) -> None:
    with pytest.raises(InvocationError, match="does not exist"):
        loader.read_recipe(str(tmp_path / "nope"))
    with pytest.raises(InvocationError, match="cannot read"):
        loader.read_recipe(str(tmp_path))


def test_handler_kinds() -> None:
    def plain(p, ctx): ...

    def gen(p, ctx):
        yield 1

    async def coro(p, ctx): ...

    async def agen(p, ctx):
        yield 1

    class Callable:
        def __call__(self, p, ctx): ...

        def method(self, p, ctx):
            yield 1

    assert [loader.handler_kind(fn) for fn in (plain, gen, coro, agen)] == [SYNC, GENERATOR, COROUTINE, ASYNC_GENERATOR]
    assert loader.handler_kind(Callable()) == SYNC
    assert loader.handler_kind(Callable().method) == GENERATOR
    assert loader.handler_kind(functools.partial(coro)) == SYNC  # decided by what it returns
    assert loader.Handler("x", agen).is_async and not loader.Handler("x", gen).is_async


def test_entry_is_imported_with_its_directory_on_sys_path(tmp_path: Path) -> None:
    (tmp_path / "sibling_helper_for_loader_test.py").write_text("VALUE = 42\n")
    code = (
        "import sibling_helper_for_loader_test as helper\n"
        "ACTIONS = ('extra', 'process')\n"
        "def setup(ctx): pass\n"
        "def process(p, ctx): return helper.VALUE\n"
        "async def extra(p, ctx): return p\n"
    )
    recipe, name = recipe_dir(tmp_path, code)
    try:
        module = loader.load_entry(recipe)
        assert sys.path[0] == str(tmp_path)
        assert module.__name__ == name and sys.modules[name] is module
        handlers = loader.collect_handlers(module)
        assert list(handlers) == ["process", "extra"]  # process first, no duplicates
        assert handlers["process"].fn(None, None) == 42
        assert handlers["extra"].kind == COROUTINE
        assert loader.find_setup(module) is not None
    finally:
        sys.modules.pop(name, None)
        sys.modules.pop("sibling_helper_for_loader_test", None)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("", "defines no actions"),
        ("ACTIONS = 'process'\n", "ACTIONS must be a tuple"),
        ("ACTIONS = ('cancel',)\ndef cancel(p, ctx): pass\n", "'cancel' is reserved"),
        ("ACTIONS = ('gone',)\n", "'gone' must be a module-level function"),
        ("process = 3\n", "'process' must be a module-level function"),
        ("ACTIONS = ('',)\n", "1 to 128 characters"),
    ],
)
def test_unusable_action_sets(tmp_path: Path, code: str, expected: str) -> None:
    recipe, name = recipe_dir(tmp_path, code)
    try:
        module = loader.load_entry(recipe)
        with pytest.raises(LoadError, match=expected):
            loader.collect_handlers(module)
    finally:
        sys.modules.pop(name, None)


def test_bad_setup_and_missing_entry(tmp_path: Path) -> None:
    recipe, name = recipe_dir(tmp_path, "def process(p, ctx): pass\ndef setup(ctx):\n    yield 1\n")
    try:
        with pytest.raises(LoadError, match="setup must not be a generator"):
            loader.find_setup(loader.load_entry(recipe))
    finally:
        sys.modules.pop(name, None)
    recipe.entry = "absent.py"
    with pytest.raises(LoadError, match="does not exist"):
        loader.load_entry(recipe)


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> dict:
    """loader's precompiled entries, emptied for the test."""
    monkeypatch.setattr(loader, "_compiled", {})
    return loader._compiled


def _refuse_compiling(*args: object, **kwargs: object) -> None:
    raise AssertionError("the entry was compiled again")


def test_a_zygotes_compiled_entry_runs_without_compiling_again(tmp_path: Path, compiled: dict, monkeypatch) -> None:
    """A pod forked from a zygote runs the code the zygote compiled: compiling it in every pod wrote
    pages it shares with the zygote."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no .pyc to read instead: only the cached code
    recipe, name = recipe_dir(tmp_path, "import os\nWHO = os.getpid()\ndef process(p, ctx): return p\n")
    assert loader.compile_entry(str(tmp_path))
    # The import system's own compile(): the one exec_module() would call.
    monkeypatch.setattr(sys.modules["_frozen_importlib_external"], "compile", _refuse_compiling, raising=False)
    try:
        module = loader.load_entry(recipe)
        assert module.WHO == __import__("os").getpid() and module.__file__ == str(tmp_path / f"{name}.py")
        assert sys.modules[name] is module
    finally:
        sys.modules.pop(name, None)


def test_an_entry_changed_since_the_zygote_compiled_it_is_imported_anew(tmp_path: Path, compiled: dict) -> None:
    recipe, name = recipe_dir(tmp_path, "VALUE = 'old'\ndef process(p, ctx): return p\n")
    assert loader.compile_entry(str(tmp_path))
    (tmp_path / f"{name}.py").write_text("VALUE = 'changed'\ndef process(p, ctx): return p\n")
    try:
        assert loader.load_entry(recipe).VALUE == "changed"
    finally:
        sys.modules.pop(name, None)


def test_an_entry_that_does_not_compile_is_left_to_the_pod(tmp_path: Path, compiled: dict) -> None:
    """The pod imports it as a spawned one does and reports the SyntaxError; the zygote goes on."""
    recipe, name = recipe_dir(tmp_path, "def process(p, ctx:\n")
    assert not loader.compile_entry(str(tmp_path))
    assert compiled == {}
    (tmp_path / "recipe.json").write_text("{")
    assert not loader.compile_entry(str(tmp_path))
    with pytest.raises(SyntaxError):
        loader.load_entry(recipe)
    sys.modules.pop(name, None)


def test_an_entry_too_deep_to_compile_is_left_to_the_pod(tmp_path: Path, compiled: dict) -> None:
    """A RecursionError while compiling is the pod's to report, as any error in its entry: the
    zygote goes on."""
    recipe_dir(tmp_path, "x = " + "+".join(["1"] * 200_000) + "\ndef process(p, ctx): return p\n")
    assert not loader.compile_entry(str(tmp_path))
    assert compiled == {}


def test_an_entry_rewritten_with_its_size_and_mtime_kept_is_imported_anew(tmp_path: Path, compiled: dict) -> None:
    recipe, name = recipe_dir(tmp_path, "VALUE = 'v1'\ndef process(p, ctx): return p\n")
    entry = tmp_path / f"{name}.py"
    before = entry.stat()
    assert loader.compile_entry(str(tmp_path))
    entry.write_text("VALUE = 'v2'\ndef process(p, ctx): return p\n")  # same size
    os.utime(entry, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` from a twin would
    try:
        assert loader.load_entry(recipe).VALUE == "v2"
    finally:
        sys.modules.pop(name, None)
