"""The zygote's filling of free pymalloc blocks (pools.py), in an interpreter of its own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import PYTHON

from podkeeper_pod import pools

FILL = """
import json
from podkeeper_pod import pools

held = [bytes(63) for _ in range(4000)]  # 96-byte blocks, packed into whole pools
del held[::2]  # a free block between every two live ones
before = pools.free_blocks().get(96, 0)
filled = pools.fill_free_blocks()
print(json.dumps({"before": before, "filled": filled, "after": pools.free_blocks().get(96, 0)}))
"""

needs_pymalloc = pytest.mark.skipif(not pools.free_blocks(), reason="no pymalloc statistics on this interpreter")


@needs_pymalloc
def test_the_free_blocks_of_used_pools_are_filled(pod_env):
    """A pod's new objects would otherwise land between the zygote's, one copied page each."""
    out = subprocess.run([PYTHON, "-c", FILL], env=pod_env, capture_output=True, text=True, check=True, timeout=60)
    counts = json.loads(out.stdout)
    assert counts["before"] >= 2000  # the holes the script made, at least
    assert counts["filled"] >= counts["before"]
    # What allocations after the count took (a line of the statistics is a 96-byte str, say) can
    # leave a few blocks free again, never most of them.
    assert counts["after"] < counts["before"] // 10
    assert out.stderr == ""  # the statistics went to the pipe, not to the process's stderr


@needs_pymalloc
def test_the_statistics_leave_stderr_as_it_was(capfd):
    sizes = pools.free_blocks()
    assert all(type(size) is int and size % 8 == 0 and count > 0 for size, count in sizes.items())
    print("after", file=sys.stderr)
    assert capfd.readouterr().err == "after\n"


def test_without_statistics_nothing_is_filled(monkeypatch):
    monkeypatch.delattr(sys, "_debugmallocstats")
    assert pools.free_blocks() == {}
    assert pools.fill_free_blocks() == 0


def test_under_the_debug_allocator_nothing_is_filled(pod_env):
    """Its hooks pad every block: filling by the statistics' sizes would hold memory and fill nothing."""
    code = "from podkeeper_pod import pools; print(pools.fill_free_blocks())"
    for flags, env in ((["-X", "dev"], pod_env), ([], {**pod_env, "PYTHONMALLOC": "debug"})):
        out = subprocess.run([PYTHON, *flags, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "0"
