"""The free blocks of the zygote's partly used pymalloc pools, filled once before it forks (zygote.py).

pymalloc serves small allocations (up to 512 bytes) from 16 KiB pools, taking free blocks first
from pools that already hold live objects. After the preload imports, hundreds of pools have a few
free blocks each, spread over the zygote's memory, and a forked pod's first allocations would land
there, each copying the 4 KiB page it writes into a page of the pod's own. Once those blocks hold
objects the zygote keeps (a few hundred kB, shared by every pod), a pod's new objects go to pools
that no live object uses, packed into pages of its own.

    zygote: preload ─▶ fill_free_blocks() ─▶ gc.freeze() ─▶ fork, fork, …

CPython only: the free blocks of each size class are read from `sys._debugmallocstats()`. Where it
is missing or lists no pools (another interpreter, PYTHONMALLOC=malloc), or where the allocator's
debug hooks pad every block (`-X dev`, PYTHONMALLOC=debug), nothing is filled.
"""

from __future__ import annotations

import os
import sys

STATS_LIMIT = 1 << 16  # the statistics are ~4 kB; a pipe holds 64 kB, and more is never waited for

_kept: list[bytes | bytearray] = []  # the objects that hold the blocks, for the zygote's lifetime


def fill_free_blocks() -> int:
    """Allocate, and keep, one object per free block of every size class; returns how many."""
    debug_build = hasattr(sys, "gettotalrefcount")  # --with-pydebug: the debug hooks are on by default
    if debug_build or sys.flags.dev_mode or "debug" in os.environ.get("PYTHONMALLOC", ""):
        return 0  # debug hooks: an object of n bytes takes a bigger block than n
    try:
        header = sys.getsizeof(b"")  # a bytes object of n bytes takes header + n
    except TypeError:  # an interpreter without object sizes (PyPy)
        return 0
    filled = 0
    for size, free in free_blocks().items():
        if size >= header:
            _kept.extend([bytes(size - header) for _ in range(free)])
        else:  # smaller than any bytes object: a bytearray's buffer takes exactly its length + 1
            _kept.extend([bytearray(size - 1) for _ in range(free)])
        filled += free
    return filled


def free_blocks() -> dict[int, int]:
    """Free blocks in the pools pymalloc uses now, by block size in bytes (empty when unknown)."""
    found: dict[int, int] = {}
    for line in _stats().splitlines():
        # "class   size   num pools   blocks in use  avail blocks", then one row per size class
        fields = line.split()
        if len(fields) == 5 and all(field.isdigit() for field in fields):
            size, free = int(fields[1]), int(fields[4])
            if free:
                found[size] = free
    return found


def _stats() -> str:
    """What sys._debugmallocstats() writes to the C stderr (fd 2), caught in a pipe."""
    dump = getattr(sys, "_debugmallocstats", None)
    if dump is None:
        return ""
    read, write = os.pipe()
    os.set_blocking(write, False)  # a full pipe loses the rest rather than blocking this process
    saved = os.dup(2)
    try:
        sys.stderr.flush()
        os.dup2(write, 2)
        dump()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write)
    try:
        chunks = []
        while chunk := os.read(read, STATS_LIMIT):
            chunks.append(chunk)
    finally:
        os.close(read)
    return b"".join(chunks).decode("ascii", "replace")
