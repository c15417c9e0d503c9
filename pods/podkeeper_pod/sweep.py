"""The guardian's last step (guardian.py): end every other process of the pod's group G and every
descendant of the guardian, setsid() escapees included. SIGTERM first (unless the daemon asked for a
kill), SIGKILL after SWEEP_GRACE_SECONDS, and again until nothing is left.

Descendants are found in /proc (as subreaper, the guardian is the parent of every orphan of its
tree). Without /proc (macOS) only group G can be reached.
"""

from __future__ import annotations

import os
import time

try:
    import _signal as signals
except ImportError:  # pragma: no cover - other interpreters
    import signal as signals

from .groupkill import reap_children

SWEEP_GRACE_SECONDS = 0.3


def sweep(gentle: bool) -> None:
    """End every other process of our group and every descendant: SIGTERM (if gentle), then SIGKILL."""
    me = os.getpid()
    targets = _tree(me)
    if targets is None:  # no /proc: the group is all we can reach
        if gentle:
            _signal_group_but_me(signals.SIGTERM)
            time.sleep(SWEEP_GRACE_SECONDS)
        _signal_group_but_me(signals.SIGKILL)
        reap_children()
        return
    if gentle and targets:
        for pid in targets:
            kill(pid, signals.SIGTERM)
        deadline = time.monotonic() + SWEEP_GRACE_SECONDS
        while targets and time.monotonic() < deadline:
            time.sleep(0.02)
            reap_children()
            targets = _tree(me) or []
    for _ in range(20):  # again until nothing is left: a process may fork while we kill
        if not targets:
            break
        for pid in targets:
            kill(pid, signals.SIGKILL)
        time.sleep(0.01)
        reap_children()
        targets = _tree(me) or []
    reap_children()


def _tree(me: int) -> list[int] | None:
    """Live processes of our group and our descendants (by parent pid), from /proc; None without it."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    # Our group only when we lead it (the daemon starts us in a new session); never a shell's job group.
    pgid = me if os.getpgid(0) == me else -1
    children: dict[int, list[int]] = {}
    found: set[int] = set()
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as file:
                stat = file.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) < 3 or fields[0] == b"Z":
            continue
        pid = int(name)
        children.setdefault(int(fields[1]), []).append(pid)
        if int(fields[2]) == pgid and pid != me:
            found.add(pid)
    stack = [me]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
            stack.append(child)
    found.discard(me)
    return sorted(found)


def _signal_group_but_me(signum: int) -> None:
    """Without /proc: signal group G while ignoring the signal ourselves (SIGKILL spares no one, so
    the guardian then exits by it too, which reports a kill)."""
    if os.getpgid(0) != os.getpid():
        return  # started by hand inside a shell's job: that group is not ours
    previous = signals.signal(signum, signals.SIG_IGN) if signum != signals.SIGKILL else None
    try:
        os.killpg(0, signum)
    except OSError:
        pass
    if previous is not None:
        signals.signal(signum, previous)


def kill(pid: int, signum: int) -> None:
    """Signal one process (never a group); one that is gone already is no error."""
    if pid <= 0:  # never a group: 0 and -1 would signal far more than one process
        return
    try:
        os.kill(pid, signum)
    except OSError:
        pass
