"""The node side of a remote pod: a Ray actor that runs the unchanged runner (through its guardian)
as a subprocess on the node Ray placed it on, and relays its pipes to the bridge.

    bridge ──write(bytes)──▶ PodActor ──stdin──▶ guardian ─fork─▶ runner
    bridge ◀──read()─────── PodActor ◀─stdout/stderr─┘   (one long poll returns all that is buffered)

The runner's environment (recipe env, passEnv, secrets) arrives as an argument of `start`, never
as runtime_env `env_vars`: those are shown by Ray's state API and written to the runtime-env agent's
log. A watch thread follows the actor's parent, the raylet: when it goes (the node is being lost),
the runner's whole group is killed and the actor exits, so no model keeps running on a node Ray
has given up on.

Imports only the standard library at module level: Ray imports this module in its worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

# As the daemon's (src/paths.ts pythonBootstrap): `-c` puts the working directory, the recipe's
# folder, first on sys.path, where a `podkeeper_pod` of the recipe's own would stand in for the runner.
RUNNER_BOOTSTRAP = 'import sys; sys.path[:1] == [""] and sys.path.pop(0); from podkeeper_pod.guardian import run; run()'
RAYLET_WATCH_SECONDS = 0.5
READ_CHUNK = 1 << 16
MAX_BATCH = 4 << 20  # bytes one read() returns at most: a long answer is relayed in several


class NodeLost(RuntimeError):
    """Raised to the bridge by read() once the node is being lost: a REMOTE_LOST, not a crash."""


class PodActor:
    """One remote pod. Async actor: `read` long-polls while `write` and `signal` are served."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._out = bytearray()
        self._err = bytearray()
        self._open_streams = 0
        self._status: int | None = None
        self._raylet_gone = False  # set before the watch kills the runner: its exit is not the pod's
        self._wake = None  # an asyncio.Event of the actor's loop, made in start()
        self._loop = None

    async def start(self, recipe_dir: str | None, env: dict) -> dict:
        """Start the runner (in `recipe_dir`, by default the job's working_dir, our cwd); returns where
        it runs. `env` holds the pod's variables, secrets included."""
        import asyncio

        import ray

        recipe_dir = recipe_dir or os.getcwd()

        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        pods_dir = _pods_dir()
        child_env = dict(env)
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (pods_dir, env.get("PYTHONPATH")) if p)
        child_env.setdefault("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
        if os.environ.get("VIRTUAL_ENV"):  # a runtime_env with pip/uv dependencies: the runner uses it
            child_env["VIRTUAL_ENV"] = os.environ["VIRTUAL_ENV"]
        # Popen from the loop's thread, which lives as long as the actor: the guardian's parent-death
        # signal follows the thread that forked it.
        self._proc = subprocess.Popen(  # noqa: ASYNC220 - a fork, returns at once
            [sys.executable, "-u", "-c", RUNNER_BOOTSTRAP, recipe_dir],
            cwd=recipe_dir,
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._open_streams = 2
        for stream, buffer in ((self._proc.stdout, self._out), (self._proc.stderr, self._err)):
            threading.Thread(target=self._pump, args=(stream.fileno(), buffer), daemon=True).start()
        threading.Thread(target=self._reap, daemon=True).start()
        threading.Thread(target=self._watch_raylet, args=(os.getppid(),), daemon=True).start()
        context = ray.get_runtime_context()
        return {
            "node": context.get_node_id(),
            "host": ray.util.get_node_ip_address(),
            "pid": self._proc.pid,
            "actorPid": os.getpid(),
        }

    async def write(self, data: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.closed:
            return
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, ValueError):  # the runner is gone: read() will report its exit
            pass

    async def close_stdin(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass

    async def signal(self, signum: int) -> None:
        """Signal the guardian (SIGTERM: stop; SIGUSR1: kill the whole tree now), as the daemon does locally."""
        if self._proc is not None and self._proc.returncode is None:
            try:
                os.kill(self._proc.pid, signum)
            except OSError:
                pass

    async def read(self) -> tuple[bytes, bytes, int | None]:
        """Waits for output; returns (stdout, stderr, exit status once both pipes closed and it exited)."""
        while True:
            # Cleared before looking: a wake-up for data an earlier read took must not make this
            # loop spin (a set Event's wait() returns without yielding to the loop).
            self._wake.clear()
            if self._raylet_gone:
                raise NodeLost("the node's raylet went away: the runner was killed with it")
            with self._lock:
                if self._out or self._err or self._finished():
                    out = bytes(self._out[:MAX_BATCH])
                    del self._out[:MAX_BATCH]
                    err = bytes(self._err)
                    self._err.clear()
                    done = self._finished() and not self._out
                    return out, err, (self._status if done else None)
            await self._wake.wait()

    def _finished(self) -> bool:
        return self._open_streams == 0 and self._status is not None

    def _notify(self) -> None:
        self._loop.call_soon_threadsafe(self._wake.set)

    def _pump(self, fd: int, buffer: bytearray) -> None:
        while True:
            try:
                data = os.read(fd, READ_CHUNK)
            except OSError:
                data = b""
            with self._lock:
                if data:
                    buffer.extend(data)
                else:
                    self._open_streams -= 1
            self._notify()
            if not data:
                return

    def _reap(self) -> None:
        status = self._proc.wait()
        with self._lock:
            self._status = status
        self._notify()

    def _watch_raylet(self, raylet: int) -> None:
        """The raylet is our parent: once it is gone, kill the runner's group and leave."""
        while True:
            if os.getppid() != raylet:
                self._raylet_gone = True
                self._notify()
                kill_group(self._proc.pid)
                os._exit(1)
            time.sleep(RAYLET_WATCH_SECONDS)


def kill_group(pgid: int) -> None:
    """The guardian kills its tree on SIGUSR1 (setsid() escapees included); SIGKILL to the group after."""
    for target, signum in ((pgid, signal.SIGUSR1), (-pgid, signal.SIGKILL)):
        try:
            os.kill(target, signum)
        except OSError:
            pass
        if signum == signal.SIGUSR1:
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline and _alive(pgid):
                time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _pods_dir() -> str:
    """The folder holding podkeeper_pod, as Ray's py_modules unpacked it on this node."""
    import podkeeper_pod

    return os.path.dirname(os.path.dirname(os.path.abspath(podkeeper_pod.__file__)))
