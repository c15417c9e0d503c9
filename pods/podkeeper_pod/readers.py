"""Which thread reads requests, and which runs them: one leader reads at a time.

A thread waking another costs tens of microseconds on a VM, as much as the whole pipe round trip,
so the thread that read a request for a sync handler runs it itself. Someone must still read while
it runs (cancel, ping, more requests), and there are two ways to hand the reading over:

- eager (concurrency > 1): before running the job, wake a follower to lead (or start one), so the
  next request can start at once on another thread;
- lazy (concurrency 1): whoever holds a baton lock reads. The leader lets go of it while it runs a
  job, noting when the job started; a watcher thread takes the baton only from a job that has run
  for a whole millisecond. It looks every 2 ms, and when it finds a job that has run less than 1 ms
  it looks again just as that job reaches 1 ms: a long job has its cancel read 1 to 2 ms after it
  started (as when it looked every millisecond, for half the wakes while calls keep coming). A
  short job never wakes anyone (a release and a non-blocking acquire, no lock round trip with
  another thread). The watcher parks after 50 ms without jobs, so an idle pod does not wake at all.

    leader: read ─▶ step() ─▶ job? ─▶ run it ─▶ still leader? ─yes─▶ read ...
                                                    └─no─▶ watch (lazy) / follow (eager)
"""

from __future__ import annotations

from _thread import allocate_lock, start_new_thread
from time import monotonic, sleep

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .jobs import Job

WATCH_INTERVAL = 0.001  # seconds a job runs before the reading is taken from it
LOOK_EVERY = 0.002  # seconds between the watcher's looks while no job is near WATCH_INTERVAL
PARK_AFTER = 0.05  # seconds without jobs before the watcher stops looking


class Readers:
    def __init__(
        self,
        step: Callable[[], Job | None],
        run: Callable[[Job], None],
        on_end: Callable[[], None],
        eager: bool,
    ) -> None:
        """`step()` reads and routes one line (StopIteration at end of input) and returns a job the
        calling thread must run, or None; `run(job)` runs it; `on_end()` is called once at the end."""
        self._step = step
        self._run = run
        self._on_end = on_end
        self._eager = eager
        self._lock = allocate_lock()
        self._followers: list = []  # eager: locks of threads waiting to lead
        # lazy: whoever holds the baton reads. The leader lets go of it while it runs a job, and takes
        # it back afterwards unless the watcher took it first.
        self._baton = allocate_lock()
        self._job_seq = 0  # lazy: bumped as each job starts
        self._job_started = 0.0  # lazy: monotonic() when the latest job started (set before the bump)
        self._parked = None  # lazy: the watcher's lock while it is parked

    def start(self) -> None:
        if not self._eager:
            self._baton.acquire()
            start_new_thread(self._thread, (False,))
        self._thread(True)

    def _thread(self, leading: bool) -> None:
        while True:
            if leading:
                if not self._lead():
                    return
                leading = False
            else:
                self._follow() if self._eager else self._watch()
                leading = True

    def _lead(self) -> bool:
        """Read until end of input (False) or until the reading was taken over (True)."""
        while True:
            try:
                job = self._step()
            except StopIteration:
                self._on_end()
                return False
            if job is None:
                continue
            if self._eager:
                self._promote()
                self._run(job)
                return True
            self._job_started = monotonic()
            self._job_seq += 1
            self._baton.release()
            if self._parked is not None:
                self._unpark()
            self._run(job)
            if not self._baton.acquire(False):
                return True

    # ------------------------------------------------------------------ eager

    def _promote(self) -> None:
        with self._lock:
            follower = self._followers.pop() if self._followers else None
        if follower is not None:
            follower.release()
        else:
            start_new_thread(self._thread, (True,))

    def _follow(self) -> None:
        wake = allocate_lock()
        wake.acquire()
        with self._lock:
            self._followers.append(wake)
        wake.acquire()

    # ------------------------------------------------------------------ lazy

    def _watch(self) -> None:
        """Returns once this thread has taken the reading over from a long job.

        The baton is free only while a job runs, so a free baton and the latest job's start at least
        WATCH_INTERVAL ago mean one job has run at least that long. Taking it just as that job ended
        (or as the next one started) is harmless: the leader then finds the baton gone and watches."""
        seen = self._job_seq
        last_activity = monotonic()
        pause = WATCH_INTERVAL  # the first look: a job may have started with the runner
        while True:
            sleep(pause)
            pause = LOOK_EVERY
            seq = self._job_seq
            ran = monotonic() - self._job_started
            if seq != seen:
                seen = seq
                last_activity = monotonic()
            if not self._baton.locked():  # a job is running
                if ran < WATCH_INTERVAL:
                    pause = WATCH_INTERVAL - ran  # look again as it reaches the interval
                elif self._baton.acquire(False):
                    return
            elif monotonic() - last_activity > PARK_AFTER:
                self._park(seq)
                seen = self._job_seq
                last_activity = monotonic()
                # woken by a job that just started: look as it reaches the interval, not LOOK_EVERY later
                pause = max(0.0, WATCH_INTERVAL - (last_activity - self._job_started))

    def _park(self, seq: int) -> None:
        """Sleep until the next job starts. The watcher publishes its lock, then looks at the job
        count; the leader bumps the count, then looks for the lock: one of them sees the other."""
        park = allocate_lock()
        park.acquire()
        self._parked = park
        if self._job_seq == seq:
            park.acquire()  # released by _unpark
        with self._lock:
            if self._parked is park:
                self._parked = None

    def _unpark(self) -> None:
        with self._lock:
            park, self._parked = self._parked, None
        if park is not None:
            park.release()
