"""The runner's own resident memory, for `ready.memoryMB`."""

from __future__ import annotations

import os
import sys


def rss_mb() -> float:
    """Current RSS in MB on Linux (/proc/self/statm); elsewhere the peak RSS from getrusage."""
    try:
        with open("/proc/self/statm", "rb") as file:
            pages = int(file.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1048576, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # not POSIX
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    unit = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux and the BSDs
    return round(peak * unit / 1048576, 1)
