"""Leave no grandchild behind: end every other process of the runner's own process group.

Only when the runner leads its group (the daemon starts it in a new session); never when it was
started by hand inside a shell's job, whose group belongs to the shell. Steps: SIGTERM the group
(the caller ignores SIGTERM), give it ~0.3 s, then SIGKILL whatever remains.
"""

from __future__ import annotations

import os
import time

try:
    import _signal as signals
except ImportError:  # pragma: no cover
    import signal as signals

TERM_GRACE_SECONDS = 0.3


def kill_own_group() -> None:
    me = os.getpid()
    if not hasattr(os, "killpg"):  # not POSIX: no process groups to clean up
        return
    try:
        if os.getpgid(0) != me:
            return
    except OSError:
        return
    others = group_members(me)
    if others is not None and not others:
        return
    _signal_group(me, signals.SIGTERM)
    deadline = time.monotonic() + TERM_GRACE_SECONDS
    while others is None or others:
        reap_children()
        others = group_members(me)
        if others == [] or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    if others is None:  # no way to list the group here: kill all of it, ourselves included
        _signal_group(me, signals.SIGKILL)
        return
    for pid in others:  # Linux: kill the others one by one, so our own exit code survives
        try:
            os.kill(pid, signals.SIGKILL)
        except OSError:
            pass
    for _ in range(10):
        reap_children()
        if not group_members(me):
            return
        time.sleep(0.01)
    _signal_group(me, signals.SIGKILL)  # still some (forked meanwhile, or stuck): the final step


def group_members(pgid: int) -> list[int] | None:
    """Live processes (not zombies) of group `pgid` other than us, from /proc; None without /proc."""
    me = os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    members = []
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as file:
                stat = file.read()
        except OSError:  # exited meanwhile, or not ours to read
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            members.append(int(name))
    return members


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except OSError:
        pass


def reap_children() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
