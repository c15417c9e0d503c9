"""readers.Readers at concurrency 1 (lazy): who reads while a job runs, without a recipe.

The readers' threads never end (a runner's end with its process), so each scenario runs in a
process of its own, which prints what it saw as JSON.
"""

from __future__ import annotations

import json
import subprocess

from helpers import PODS_DIR, PYTHON, TIMEOUT

from podkeeper_pod.readers import WATCH_INTERVAL

LONG_JOB_SCENARIO = """
import json, threading, time
from podkeeper_pod.readers import Readers

def scenario(delay):
    # 50 short jobs, then after `delay` (the watcher looks every 2 ms: every phase against its looks
    # is tried) a long one that runs until someone else has read the next line
    jobs = iter(["short"] * 50 + ["long", "next"])
    steps, read_on, ended = [], threading.Event(), threading.Event()

    def step():
        job = next(jobs)  # StopIteration at the end, as at end of input
        if job == "long":
            time.sleep(delay)
        steps.append((job, time.monotonic(), threading.get_ident()))
        if job == "next":
            read_on.set()
        return job

    def run(job):
        if job == "long":
            read_on.wait(10)

    threading.Thread(target=Readers(step, run, ended.set, eager=False).start, daemon=True).start()
    ended.wait(10)
    return steps

print(json.dumps([scenario(i * 0.0001) for i in range(40)]))
"""


def test_a_long_job_has_the_reading_taken_over_after_it_ran_the_watch_interval() -> None:
    # The watcher looks every 2 ms, or sooner when it finds a job younger than the interval: it must
    # take over from a job that runs on, and never from one that has not run the whole interval.
    out = subprocess.run(
        [PYTHON, "-c", LONG_JOB_SCENARIO],
        env={"PYTHONPATH": str(PODS_DIR)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 2,
        check=True,
    ).stdout
    for steps in json.loads(out):
        assert [job for job, _, _ in steps] == ["short"] * 50 + ["long", "next"]
        (_, long_read, leader), (_, next_read, other) = steps[50], steps[51]
        assert other != leader  # read by another thread: the long job's one was still running it
        assert next_read - long_read >= WATCH_INTERVAL
