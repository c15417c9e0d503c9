"""Fixtures: runner processes that are always killed (whole process group) when the test ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import PODS_DIR, Pod


@pytest.fixture
def pod_env(tmp_path: Path) -> dict[str, str]:
    """Environment for runner processes: the package on PYTHONPATH, temp files inside tmp_path."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PODKEEPER_")}
    env.update(PYTHONPATH=str(PODS_DIR), TMPDIR=str(temp), PYTHONDONTWRITEBYTECODE="1")
    return env


@pytest.fixture
def start_pod(pod_env: dict[str, str]):
    """`start_pod(recipe_dir, **env)` starts a runner; every one is killed after the test."""
    pods: list[Pod] = []

    def start(recipe_dir: Path, args: list[str] | None = None, entry: list[str] | None = None, **extra_env: str) -> Pod:
        pod = Pod(recipe_dir, {**pod_env, **extra_env}, args, entry)
        pods.append(pod)
        return pod

    yield start
    for pod in pods:
        pod.kill()
