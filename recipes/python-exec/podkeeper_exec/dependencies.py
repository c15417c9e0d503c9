"""Per-request `dependencies`: what is missing is installed into the pod's own env, with uv.

    ensure(reqs) ─ each ensured earlier in this pod? ─ yes ─▶ done (no I/O: the hot path)
        └ no ─▶ the install lock (one install at a time) ─▶ satisfied already? (importlib.metadata)
                 ─▶ `uv pip install` the rest ─▶ importlib.invalidate_caches(): importable at once

Differential: a requirement already satisfied is never handed to the installer; one podkeeper cannot
judge (markers, extras, URLs, pre-releases) goes to uv, which leaves satisfied ones untouched too.
Where it goes (`PODKEEPER_ENV_KIND`, set by the daemon):
- `venv`: `uv pip install --python <this interpreter>`, into the recipe's venv. That venv is keyed
  by the recipe's own dependency set, so a recipe with the very same set shares the additions.
- `system`: `--system --python-preference only-system`, as the environments' system mode.
- `base` (no env of its own): refused; installing would change the user's own Python.
uv is `PODKEEPER_UV`, else `uv` on PATH, else the one podkeeper installed in `$PODKEEPER_HOME/tools`;
without uv, the env's pip. `PODKEEPER_WHEELHOUSE` is passed as `--find-links`; uv's own variables
(`UV_OFFLINE`, `UV_CACHE_DIR`, `UV_INDEX_URL`, ...) are inherited from the daemon.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import deque

from .errors import DependencyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_SIMPLE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(.*)$")
_CLAUSE = re.compile(r"^(===|==|!=|~=|>=|<=|>|<)\s*(\d+(?:\.\d+)*)$")
_INSTALLED_LINE = re.compile(r"^\s*\+\s+(\S+)")
_RELEASE = re.compile(r"^(\d+(?:\.\d+)*)$")


class DependencyInstaller:
    def __init__(self, env: dict[str, str] | None = None, timeout: float = 600.0) -> None:
        self._env = os.environ if env is None else env
        self._timeout = timeout
        self._lock = threading.Lock()
        self._ensured: set[str] = set()

    @property
    def ensured(self) -> list[str]:
        return sorted(self._ensured)

    def ensure(
        self,
        requirements: list[str],
        progress: Callable[[str], None] = lambda _: None,
        log: Callable[[str], None] = lambda _: None,
    ) -> dict:
        """Make every requirement importable; returns `{"installed": [...], "already_satisfied": [...]}`."""
        todo = [req for req in requirements if req not in self._ensured]
        if not todo:
            return {"installed": [], "already_satisfied": list(requirements)}
        with self._lock:  # one install at a time; a request that waited finds its work done
            todo = [req for req in todo if req not in self._ensured]
            missing = [req for req in todo if satisfied(req) is not True]
            installed: list[str] = []
            if missing:
                started = time.monotonic()
                installed = self._install(missing, progress)
                importlib.invalidate_caches()
                took = round((time.monotonic() - started) * 1000)
                log(f"installed {', '.join(installed) or 'nothing new'} for {', '.join(missing)} ({took} ms)")
            self._ensured.update(todo)
        names = {_name_of(line) for line in installed}
        return {
            "installed": installed,
            "already_satisfied": [req for req in requirements if _name_of(req) not in names],
        }

    def _install(self, requirements: list[str], progress: Callable[[str], None]) -> list[str]:
        command = self._command(requirements)
        progress(f"installing {', '.join(requirements)}")
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(self._env),
                text=True,
                errors="replace",
            )
        except OSError as error:
            raise DependencyError(f"cannot run {command[0]}: {error}") from None
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(self._timeout, expire)
        timer.start()
        done = threading.Event()
        started = time.monotonic()

        def heartbeat() -> None:  # uv may be silent for long (a big download): keep the call alive
            while not done.wait(5.0):
                progress(f"still installing {', '.join(requirements)} ({time.monotonic() - started:.0f} s)")

        threading.Thread(target=heartbeat, name="podkeeper-exec-install-heartbeat", daemon=True).start()
        tail: deque[str] = deque(maxlen=20)
        installed: list[str] = []
        last_report = 0.0
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip()
                tail.append(line)
                match = _INSTALLED_LINE.match(line)
                if match:
                    installed.append(match.group(1))
                now = time.monotonic()
                if line and now - last_report > 0.25:  # progress keeps the call's timeout at bay
                    last_report = now
                    progress(line.strip())
            code = proc.wait()
        finally:
            timer.cancel()
            done.set()
        if code != 0:
            why = f"timed out after {self._timeout:g} s" if timed_out.is_set() else f"exited with {code}"
            output = "\n".join(tail)
            raise DependencyError(f"installing {', '.join(requirements)} failed ({command[0]} {why}):\n{output}")
        return installed

    def _command(self, requirements: list[str]) -> list[str]:
        kind = self._env.get("PODKEEPER_ENV_KIND") or ("venv" if sys.prefix != sys.base_prefix else "base")
        if kind not in ("venv", "system"):
            raise DependencyError(
                f"cannot install {', '.join(requirements)}: this pod runs on the base interpreter "
                f"({sys.executable}), not in an env of its own, and installing would change that Python. "
                "Give the recipe at least one dependency (it then gets its own venv), or run the daemon in "
                "system mode (PODKEEPER_ENV_MODE=system)."
            )
        links = ["--find-links", self._env["PODKEEPER_WHEELHOUSE"]] if self._env.get("PODKEEPER_WHEELHOUSE") else []
        uv = find_uv(self._env)
        if uv is not None:
            target = ["--system", "--python-preference", "only-system"] if kind == "system" else []
            return [uv, "pip", "install", "--compile-bytecode", "--python", sys.executable, *target, *links, "--", *requirements]
        if importlib.util.find_spec("pip") is None:
            raise DependencyError(
                f"cannot install {', '.join(requirements)}: uv was not found (PODKEEPER_UV, PATH, "
                "$PODKEEPER_HOME/tools/uv/bin/uv) and this env has no pip. Install uv, or set PODKEEPER_UV."
            )
        pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        return [*pip, *links, "--", *requirements]


def find_uv(env: dict[str, str]) -> str | None:
    explicit = env.get("PODKEEPER_UV")
    if explicit:
        return explicit
    found = shutil.which("uv", path=env.get("PATH"))
    if found:
        return found
    home = env.get("PODKEEPER_HOME")
    tools = os.path.join(home, "tools", "uv", "bin", "uv") if home else None
    return tools if tools and os.access(tools, os.X_OK) else None


def satisfied(requirement: str) -> bool | None:
    """True/False when a plain requirement (`name`, `name==1.2`, `name>=1,<2`) is/is not met by what
    is installed; None when podkeeper cannot tell (extras, markers, URLs, pre-releases)."""
    match = _SIMPLE.match(requirement)
    if match is None:
        return None
    name, rest = match.groups()
    clauses = [part.strip() for part in rest.split(",")] if rest.strip() else []
    parsed = [_CLAUSE.match(clause) for clause in clauses]
    if not all(parsed):
        return None
    from importlib import metadata

    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    have = _release(version)
    if have is None:
        return None
    return all(_holds(have, clause.group(1), _release(clause.group(2))) for clause in parsed)


def _release(text: str | None) -> tuple[int, ...] | None:
    match = _RELEASE.match(text or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _holds(have: tuple[int, ...], op: str, want: tuple[int, ...] | None) -> bool:
    width = max(len(have), len(want or ()))
    a = have + (0,) * (width - len(have))
    b = (want or ()) + (0,) * (width - len(want or ()))
    if op in ("==", "==="):
        return a == b
    if op == "!=":
        return a != b
    if op == ">=":
        return a >= b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == "<":
        return a < b
    prefix = (want or ())[:-1]  # ~=: at least `want`, and the same release up to its last-but-one part
    return a >= b and have[: len(prefix)] == prefix


def _name_of(requirement: str) -> str:
    match = re.match(r"^([A-Za-z0-9._-]+)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else requirement
