"""Where the daemon is: its home and its socket, found as the daemon and the TypeScript client find them
(src/location/), so a Python program reaches the daemon the CLI would."""

from __future__ import annotations

import json
import os
import sys


def default_home() -> str:
    """The daemon's home as podkeeper resolves it everywhere (src/location/home.ts): `$PODKEEPER_HOME`,
    else the platform's data directory. An empty `PODKEEPER_HOME` counts as unset."""
    explicit = os.environ.get("PODKEEPER_HOME")
    if explicit:
        return os.path.abspath(explicit)
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/podkeeper")
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data, "podkeeper")


def default_socket(home: str | None = None) -> str:
    """The socket as the daemon and the TypeScript client find it: `$PODKEEPER_SOCKET`, else `socket`
    in `<home>/config.json` (only when that file is ours and no one else may write it), else
    `<home>/podkeeper.sock`; `home` defaults to `default_home()`."""
    explicit = os.environ.get("PODKEEPER_SOCKET")
    if explicit:
        return os.path.abspath(explicit)
    home = os.path.abspath(home) if home else default_home()
    return _socket_from_config(home) or os.path.join(home, "podkeeper.sock")


def _socket_from_config(home: str) -> str | None:
    path = os.path.join(home, "config.json")
    try:
        # A config.json someone else owns or may write is ignored: it could point us at their socket.
        stat = os.stat(path)
        if stat.st_uid != os.geteuid() or stat.st_mode & 0o022:
            return None
        with open(path, encoding="utf-8") as file:
            raw = json.load(file)
    except (OSError, ValueError):
        return None
    socket = raw.get("socket") if isinstance(raw, dict) else None
    if not isinstance(socket, str) or socket == "":
        return None
    return socket if os.path.isabs(socket) else os.path.normpath(os.path.join(home, socket))
