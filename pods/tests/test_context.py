"""`ctx` in-process: what recipes see in setup and in requests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podkeeper_pod.context import Context, Pod
from podkeeper_pod.protocol import validate_message


@pytest.fixture
def sent() -> list[dict]:
    return []


@pytest.fixture
def pod(tmp_path: Path, sent: list[dict]) -> Pod:
    return Pod(sent.append, str(tmp_path), {"k": 1}, "org/model")


def test_shared_fields(pod: Pod, tmp_path: Path) -> None:
    setup_ctx, ctx = Context(pod), Context(pod, "r1")
    setup_ctx.state["model"] = "loaded"
    assert ctx.state == {"model": "loaded"}  # one dict for setup and every request
    assert ctx.config == {"k": 1} and ctx.model == "org/model" and ctx.recipe_dir == str(tmp_path)
    assert (setup_ctx.request_id, ctx.request_id) == (None, "r1")
    assert ctx.cancelled is False


def test_log_progress_emit_send_valid_lines(pod: Pod, sent: list[dict]) -> None:
    ctx = Context(pod, "r1")
    ctx.log("hello")
    ctx.log("careful", level="warning")
    ctx.progress(0.25, "quarter")
    ctx.progress(-3)
    ctx.progress(12)
    ctx.emit({"token": "a"})
    for message in sent:
        validate_message(message)
    assert [(m["level"], m["message"]) for m in sent[:2]] == [("info", "hello"), ("warning", "careful")]
    assert sent[2] == {"type": "progress", "id": "r1", "progress": 0.25, "message": "quarter"}
    assert [m["progress"] for m in sent[3:5]] == [0.0, 1.0]  # clamped
    assert sent[5] == {"type": "chunk", "id": "r1", "data": {"token": "a"}}


def test_bad_arguments_are_refused(pod: Pod) -> None:
    ctx = Context(pod, "r1")
    with pytest.raises(ValueError, match="level must be one of"):
        ctx.log("x", level="loud")
    with pytest.raises(ValueError, match="NaN"):
        ctx.progress(float("nan"))


def test_emit_of_unserialisable_data_raises_type_error(tmp_path: Path) -> None:
    from podkeeper_pod.channel import Channel

    read_fd, write_fd = os.pipe()
    try:
        pod = Pod(Channel(write_fd).send, str(tmp_path))
        with pytest.raises(TypeError, match="chunk is not JSON serialisable"):
            Context(pod, "r1").emit(object())
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_setup_context_has_no_request_events(pod: Pod, sent: list[dict]) -> None:
    ctx = Context(pod)
    ctx.log("loading")  # allowed: resets the daemon's ready timer
    for call in (lambda: ctx.progress(0.5), lambda: ctx.emit("x")):
        with pytest.raises(RuntimeError, match="not available in setup"):
            call()
    assert len(sent) == 1


def test_no_events_after_the_answer(pod: Pod) -> None:
    ctx = Context(pod, "r1")
    ctx._finish()
    with pytest.raises(RuntimeError, match="already been answered"):
        ctx.emit(1)
    with pytest.raises(RuntimeError, match="already been answered"):
        _ = ctx.tmp_dir


def test_tmp_dir_is_lazy_private_and_removed(pod: Pod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ctx = Context(pod, "r1")
    assert ctx._tmp_dir is None
    path = Path(ctx.tmp_dir)
    assert path.is_dir() and path.parent == tmp_path and ctx.tmp_dir == str(path)
    assert Path(Context(pod, "r2").tmp_dir) != path
    (path / "sub").mkdir()
    (path / "sub" / "file").write_text("x")
    ctx._finish()
    assert not path.exists()


def test_cache_dir_is_created_on_first_access(tmp_path: Path, sent: list[dict]) -> None:
    cache = tmp_path / "deep" / "cache"
    pod = Pod(sent.append, str(tmp_path), cache_dir=str(cache))
    assert not cache.exists()
    assert Context(pod).cache_dir == str(cache)
    assert cache.is_dir()
    default = Pod(sent.append, str(tmp_path))
    assert Context(default).cache_dir == str(tmp_path / ".cache")


def test_environment_overrides(tmp_path: Path, sent: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PODKEEPER_MODEL_PATH", raising=False)
    monkeypatch.delenv("PODKEEPER_CACHE_DIR", raising=False)
    pod = Pod.from_environment(sent.append, str(tmp_path), {}, "org/model")
    assert pod.model == "org/model"
    assert not (tmp_path / ".cache").exists()
    monkeypatch.setenv("PODKEEPER_MODEL_PATH", "/models/local")
    monkeypatch.setenv("PODKEEPER_CACHE_DIR", str(tmp_path / "c"))
    pod = Pod.from_environment(sent.append, str(tmp_path), {}, None)
    assert pod.model == "/models/local"
    assert Context(pod).cache_dir == str(tmp_path / "c")
