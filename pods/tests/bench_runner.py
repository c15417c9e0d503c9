"""Benchmark of the pod runner against its baselines from the same run (not a test; no limits).

    python3 pods/tests/bench_runner.py [--python PATH] [--runs 20] [--requests 3000]

1. Start-up: spawn to `ready` line of the runner started as the daemon starts it (`python -u -c
   "from podkeeper_pod.__main__ import run; run()" <echo recipe>`) and as `python -u -m podkeeper_pod`,
   versus spawn to the output line of a bare `python -c "print(1)"`, and of `python -u -m <module
   printing 1>` (what `-m` alone costs: runpy, importlib.util, contextlib...). Interleaved runs,
   median and min.
   Without .pyc files for the runner (PYTHONDONTWRITEBYTECODE=1 and no __pycache__), every start
   also compiles its sources: precompile with `python -m compileall -q pods/podkeeper_pod`.
2. Warm round trip: one request in flight at a time, against the runner's echo recipe and against a
   raw Python `for line in stdin: write(line)` JSON echo loop. Median per request, and (Linux) the
   CPU time the echoing process spent per request. Pin it to one CPU (`taskset -c 0 python3 ...`) to
   read the CPU per request as the daemon's socket bench sees it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from helpers import BOOTSTRAP  # how the daemon starts a runner

PODS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAW_ECHO = """
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    sys.stdout.write(json.dumps({"id": msg["id"], "success": True, "result": msg.get("payload")}) + "\\n")
    sys.stdout.flush()
"""


def first_line_seconds(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.stdin.close()
    proc.wait()
    proc.stdout.close()
    assert line, f"{argv} printed nothing"
    return elapsed


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid`, all its threads, in nanoseconds' resolution: the first field of each
    thread's /proc schedstat (its `stat` counts in 10 ms ticks, 3.3 us per request over 3,000 of
    them). NaN without /proc."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        total = 0
        for task in tasks:
            with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as file:
                total += int(file.read().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return total / 1e9


def round_trips(argv: list[str], cwd: str, env: dict[str, str], count: int, ready: bool) -> tuple[list[float], float]:
    """Round-trip times of `count` requests after a warm-up, and the echo's CPU seconds per request."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    stdin, stdout = proc.stdin, proc.stdout
    assert stdin is not None and stdout is not None
    reader = stdout.makefile("rb") if hasattr(stdout, "makefile") else stdout
    if ready:
        reader.readline()
    times = []
    cpu_before = 0.0
    for i in range(count + 200):
        if i == 200:
            cpu_before = cpu_seconds(proc.pid)
        line = b'{"id":"r%d","action":"process","payload":{"text":"hello","n":%d}}\n' % (i, i)
        started = time.perf_counter()
        stdin.write(line)
        answer = reader.readline()
        if i >= 200:  # warm-up excluded
            times.append(time.perf_counter() - started)
        assert b'"r' in answer, answer
    cpu = (cpu_seconds(proc.pid) - cpu_before) / count
    stdin.close()
    proc.wait()
    stdout.close()
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="podkeeper-bench-")
    try:
        with open(os.path.join(work, "recipe.json"), "w") as file:
            file.write('{"name":"echo","capability":"echo","entry":"echo.py"}')
        with open(os.path.join(work, "echo.py"), "w") as file:
            file.write("def process(payload, ctx):\n    return payload\n")
        with open(os.path.join(work, "podkeeper_bench_floor.py"), "w") as file:
            file.write("print(1)\n")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([PODS_DIR, work]))
        runner = [args.python, "-u", *BOOTSTRAP, work]
        cases = {
            "bare python -c 'print(1)'": [args.python, "-c", "print(1)"],
            "python -u -m <print(1)>": [args.python, "-u", "-m", "podkeeper_bench_floor"],
            "runner to ready": runner,
            "runner to ready, via -m": [args.python, "-u", "-m", "podkeeper_pod", work],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, argv in cases.items():
                times[name].append(first_line_seconds(argv, work, env))
        bare = statistics.median(times["bare python -c 'print(1)'"])
        print(f"python: {args.python}")
        print(f"start-up, median of {args.runs} (min), ratio to bare:")
        for name, samples in times.items():
            median = statistics.median(samples)
            print(f"  {name:26s} {median * 1e3:7.2f} ms ({min(samples) * 1e3:.2f})   {median / bare:.2f}x")

        raw, raw_cpu = round_trips([args.python, "-u", "-c", RAW_ECHO], work, env, args.requests, ready=False)
        pod, pod_cpu = round_trips(runner, work, env, args.requests, ready=True)
        rm, pm = statistics.median(raw) * 1e6, statistics.median(pod) * 1e6
        print(f"warm round trip, median of {args.requests} (mean; echo's CPU per request):")
        print(f"  raw JSON echo loop          {rm:7.1f} us ({statistics.mean(raw) * 1e6:.1f}; {raw_cpu * 1e6:.1f} us)")
        print(
            f"  runner echo recipe          {pm:7.1f} us ({statistics.mean(pod) * 1e6:.1f}; {pod_cpu * 1e6:.1f} us)"
            f"   ratio {pm / rm:.2f}x, CPU {pod_cpu / raw_cpu:.2f}x"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
