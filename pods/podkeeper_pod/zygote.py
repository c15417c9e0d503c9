"""The zygote: a process that has imported a recipe's heavy modules once and forks pods from itself,
so a pod starts without importing them again and shares their pages with every sibling.

    daemon ─spawn─▶ zygote <recipe_dir> <socket>   imports `preload`, listens, prints one line
    zygote ─fork─▶ spare guardian (setsid) ─fork─▶ spare runner   (prefork.py: both wait)
           ─stdout─▶ {"type": "spare", "pid": the spare guardian}
    daemon ─connect ×3 (control, stdio, stderr)─▶ the spare guardian, which says its pid: the
           daemon holds the spare ahead of its pod; on the pod's go, the guardian hands stdio and
           stderr to its runner as fds 0, 1, 2, and the runner starts exactly as a normally spawned pod's

The daemon holds no process of its own for a forked pod: its handle is the three connections, the
spare guardian's pid and the exit the guardian sends on control (src/launch/forked-spare.ts). A
start waits on no connect, and a spare the daemon holds serves its pod even if the zygote died.

Both forks are made ahead of need: the zygote keeps one spare pod (prefork.py), a guardian and its
runner, and the spare's guardian accepts the daemon's connections on the zygote's socket itself;
the zygote forks the next spare when it hears this one taken (or dead), and says so. The zygote
accepts connections only while there is no spare, that is while forking is unsafe: it refuses them.
Before its first fork it settles its memory (`settle`): what a pod would otherwise write into pages
it shares with the zygote (cached names, free lists, free blocks in used pools) is cleared or filled.

`preload` in recipe.json lists modules to import (`"numpy"`) and functions to call after them
(`"warm:preload"`: `preload()` of the recipe's module `warm`). Before forking a spare the zygote checks
that nothing but its own thread runs: a Python thread, or a native thread started by a preload function
(native threads that the imports themselves start, such as OpenBLAS's pool, are counted once after
the imports: those libraries stop them at fork and start them again in the child). When another
thread runs, there is no spare: the zygote prints `{"type": "refusing", "code": "ZYGOTE_THREADS", …}`
and the daemon starts pods normally, saying why in their log; so it is with `ZYGOTE_CUDA` when the
preload initialised CUDA (torch's).

The zygote exits when the daemon closes its stdin, on SIGTERM, or when the daemon dies. Pods it has
forked do not depend on it: each is tied to the daemon by its own connections, not to the zygote.
"""

from __future__ import annotations

import gc
import os
import select
import sys
import time

try:
    import _signal as signals
    import _socket as sockets  # the C socket type, as in prefork.py: what the spares inherit
except ImportError:  # pragma: no cover
    import signal as signals
    import socket as sockets

from . import codec, forked, pools, wire
from .channel import note
from .guardian import PR_SET_PDEATHSIG, _prctl
from .prefork import Spare, accept, fork_spare, opening

USAGE = "usage: python -c 'from podkeeper_pod.zygote import run; run()' <recipe_dir> <socket>"
PARENT_POLL_SECONDS = 1.0
# After a spare is taken, the next is forked this much later: forking a copy of the zygote and the
# daemon's connections to it would otherwise take the CPU the new pod needs for its start and its
# first answer (measured with strace on 2 cores: ~3 ms of the fork overlapped a ~13 ms cold start).
NEXT_SPARE_DELAY_SECONDS = 0.03


class PreloadError(Exception):
    """A `preload` entry is malformed, or importing or calling it failed (exit 3)."""


def read_preload(recipe_dir: str) -> list[str]:
    with open(os.path.join(recipe_dir, "recipe.json"), "rb") as file:
        data = codec.loads(file.read())
    preload = data.get("preload") if type(data) is dict else None
    if type(preload) is not list or not all(type(item) is str and item for item in preload):
        raise PreloadError(f"`preload` in {recipe_dir}/recipe.json must be a list of module names, got {preload!r}")
    return preload


def preload(recipe_dir: str, entries: list[str]) -> int:
    """Import every module, then call every `module:function`; returns the native thread count
    between the two (what imports start on their own)."""
    import importlib

    if recipe_dir not in sys.path[:1]:
        sys.path.insert(0, recipe_dir)
    functions = []
    for entry in entries:
        module_name, _, function = entry.partition(":")
        try:
            module = importlib.import_module(module_name)
        except BaseException as error:
            raise PreloadError(f"preload {entry!r}: importing {module_name!r} failed: {error!r}") from error
        if function:
            target = getattr(module, function, None)
            if not callable(target):
                raise PreloadError(f"preload {entry!r}: {module_name}.{function} is not a function")
            functions.append((entry, target))
    baseline = forked.native_threads()
    for entry, target in functions:
        try:
            target()
        except BaseException as error:
            raise PreloadError(f"preload {entry!r} raised {error!r}") from error
    return baseline


def unsafe_to_fork(baseline: int | None) -> tuple[str, str] | None:
    """Why forking now would be unsafe, as (code, reason), or None."""
    frames = sys._current_frames()
    if len(frames) > 1:
        reason = f"{len(frames) - 1} Python thread(s) besides the main one are running in the zygote"
        return "ZYGOTE_THREADS", f"{reason}: a fork would copy the locks they hold"
    native = forked.native_threads()
    if baseline is not None and native is not None and native > baseline:
        reason = f"{native - baseline} native thread(s) were started after the preload imports (by a preload function)"
        return "ZYGOTE_THREADS", f"{reason}: a fork would copy the locks they hold"
    torch = sys.modules.get("torch")
    is_initialized = getattr(getattr(torch, "cuda", None), "is_initialized", None)
    if callable(is_initialized) and is_initialized():
        return "ZYGOTE_CUDA", "CUDA was initialised in the zygote (by the preload): a forked child cannot use it"
    return None


class Zygote:
    def __init__(self, recipe_dir: str, listener: sockets.socket, baseline: int | None) -> None:
        self.recipe_dir = recipe_dir
        self.listener = listener
        self.baseline = baseline
        self.forks = 0
        self.spare: Spare | None = None  # a pod forked ahead of need (prefork.py)

    def serve(self) -> None:
        """Keep a spare pod until stdin closes (the daemon is done with us) or the parent is gone."""
        parent = os.getppid()
        announced: dict | None = None
        fork_at = 0.0  # when the next spare may be forked (time.monotonic)
        while True:
            wait = PARENT_POLL_SECONDS
            if self.spare is None:
                wait = fork_at - time.monotonic()
                if wait <= 0:
                    wait = PARENT_POLL_SECONDS
                    state = self.fork_spare()
                    if state != announced:
                        os.write(1, codec.encode_line(state))
                        announced = state
            # While a spare waits, it accepts the next request itself; the zygote only hears it go.
            watched = [self.spare.channel if self.spare is not None else self.listener, 0]
            ready, _, _ = select.select(watched, [], [], wait)
            if os.getppid() != parent:
                return
            if 0 in ready and not os.read(0, 4096):
                return
            if self.spare is not None and self.spare.channel in ready:
                if self.spare.gone():
                    self.forks += 1
                    fork_at = time.monotonic() + NEXT_SPARE_DELAY_SECONDS
                self.spare = None
            elif self.listener in ready:
                try:
                    conn = accept(self.listener)
                except OSError:
                    continue
                try:
                    self.handle(conn)
                finally:
                    conn.close()

    def fork_spare(self) -> dict:
        """Fork the next spare pod when it is safe; what the daemon is told: its pid, or why not."""
        unsafe = unsafe_to_fork(self.baseline)
        if unsafe is None:
            try:
                self.spare = fork_spare(self.listener, self.recipe_dir)
                return {"type": "spare", "pid": self.spare.pid}
            except OSError as error:  # out of processes or memory: pods start normally meanwhile
                unsafe = ("ZYGOTE_BROKEN", f"the zygote could not fork a pod: {error}")
        return {"type": "refusing", "code": unsafe[0], "reason": unsafe[1]}

    def handle(self, conn: sockets.socket) -> None:
        """A connection that came while there is no spare (the spare the daemon was told of died, and
        forking is unsafe or failed): refuse the pod on its control connection."""
        opened = opening(conn)
        if opened is None or opened[0] != b"c":
            return
        unsafe = unsafe_to_fork(self.baseline) or ("ZYGOTE_BROKEN", "the zygote could not fork a pod")
        try:
            wire.send(conn, ("refused", *unsafe))
        except OSError as error:
            note(f"zygote: cannot refuse a pod: {error}")


def settle() -> None:
    """Leave memory as a forked pod should find it. CPython writes a reference count into every object
    a process touches, and a write into a page the pod shares with the zygote copies that page: what
    the zygote leaves for a pod to write to costs every pod a page per object. Measured on a forked
    numpy+pandas pod (guardian and runner, after one call): the free lists ~100 kB, the attribute
    cache ~500 kB, the free blocks ~270 kB."""
    forked.sync_c_environ()  # the pods change only what differs from os.environ (forked.take_environ)
    gc.collect()  # also empties the free lists (tuples, floats, dicts, ...): a pod's first objects would be those
    clear_type_cache = getattr(sys, "_clear_type_cache", None)
    if clear_type_cache is not None:
        # Each entry of the attribute cache holds a name: a pod's lookup that evicts it drops that
        # name's reference count, wherever the name lies (emptied, the cache holds None instead).
        clear_type_cache()
    pools.fill_free_blocks()  # a pod's new objects then go to pages of its own (pools.py)
    gc.freeze()  # what is loaded lives as long as the zygote: keep collections off those pages


def listen(path: str) -> sockets.socket:
    try:
        os.unlink(path)  # a stale socket of a zygote that died
    except FileNotFoundError:
        pass
    listener = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(16)
    return listener


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        note(f"{USAGE} (got {' '.join(argv) or 'no arguments'})")
        return 2
    recipe_dir, path = os.path.abspath(argv[0]), argv[1]
    if sys.platform.startswith("linux"):
        try:
            _prctl(PR_SET_PDEATHSIG, int(signals.SIGTERM))
        except (OSError, AttributeError, ImportError):
            pass  # serve() polls the parent too
    started = time.monotonic()
    try:
        entries = read_preload(recipe_dir)
        from . import __main__, dispatch, failures, forked, readers  # noqa: F401 - the runner's own modules, shared too
        from .lifecycle import title_setter
        from .loader import compile_entry

        baseline = preload(recipe_dir, entries)
        # After the preload, which runs with the recipe's environment as it is (SPT_NOENV is set here):
        title_setter()  # looked up once here, not by a failed import in every pod (lifecycle.py)
        compile_entry(recipe_dir)  # once here, not by every pod (loader.py)
    except (OSError, ValueError, PreloadError) as error:
        note(f"zygote: cannot preload: {error}")
        return 3
    signals.signal(signals.SIGCHLD, signals.SIG_IGN)  # forked pods are reaped by the kernel
    listener = listen(path)
    settle()
    line = {
        "type": "zygote",
        "pid": os.getpid(),
        "preloaded": entries,
        "preloadMs": round((time.monotonic() - started) * 1000, 1),
        "nativeThreads": baseline,
    }
    os.write(1, codec.encode_line(line))
    try:
        Zygote(recipe_dir, listener, baseline).serve()
    finally:
        listener.close()
        try:
            os.unlink(path)
        except OSError:
            pass
    return 0


def run() -> None:
    """The daemon's entry: `python -u -c "from podkeeper_pod.zygote import run; run()" <recipe_dir> <socket>`."""
    sys.exit(main(sys.argv[1:]))
