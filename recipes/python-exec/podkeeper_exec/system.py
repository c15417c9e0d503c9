"""Per-request `system_dependencies` (apt package names such as `ffmpeg`), by the environments' rules.

One is present when a command of that name is on PATH or dpkg says the package is installed. Missing
ones are installed with apt-get only when the pod runs as root inside a container (the Docker
image); anywhere else the request fails listing them with the command to install them: podkeeper
never touches a user's system. Packages found present are remembered for the pod's life.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

from .errors import DependencyError

_lock = threading.Lock()
_present: set[str] = set()


def ensure_system_packages(packages: list[str], progress=lambda _: None) -> dict:
    """Returns `{"installed": [...], "already_present": [...]}`; raises DependencyError."""
    if all(name in _present for name in packages):
        return {"installed": [], "already_present": list(packages)}
    with _lock:
        missing = _missing([name for name in packages if name not in _present])
        if missing:
            apt = shutil.which("apt-get")
            if not (_in_container() and os.geteuid() == 0 and apt):
                raise DependencyError(
                    f"system packages not installed: {', '.join(missing)}. Install them, e.g. "
                    f"`sudo apt-get install -y {' '.join(missing)}`, and call again. podkeeper installs system "
                    "packages itself only when it runs as root inside a container with apt-get."
                )
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            progress(f"apt-get install {' '.join(missing)}")
            for args in (["update"], ["install", "-y", "--no-install-recommends", "--", *missing]):
                result = subprocess.run(
                    [apt, *args], check=False, env=env, capture_output=True, text=True, errors="replace"
                )
                if result.returncode != 0:
                    tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
                    raise DependencyError(f"apt-get {args[0]} failed (exit {result.returncode}):\n{tail}")
        _present.update(packages)
    return {"installed": missing, "already_present": [name for name in packages if name not in missing]}


def _missing(packages: list[str]) -> list[str]:
    unknown = [name for name in packages if shutil.which(name) is None]
    dpkg = shutil.which("dpkg-query")
    if not unknown or dpkg is None:
        return unknown
    result = subprocess.run(
        [dpkg, "-W", "-f", "${Package} ${Status}\\n", "--", *unknown], check=False, capture_output=True, text=True
    )
    installed = {
        line.split(" ")[0].split(":")[0]
        for line in result.stdout.splitlines()
        if line.endswith(" install ok installed")
    }
    return [name for name in unknown if name not in installed]


def _in_container() -> bool:
    if os.path.exists("/.dockerenv"):
        return True
    try:
        with open("/proc/1/cgroup") as file:
            text = file.read()
    except OSError:
        return False
    return any(word in text for word in ("docker", "containerd", "kubepods"))
