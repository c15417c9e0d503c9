"""The bridge: a local process that speaks the pod protocol on its stdin/stdout, exactly like the
runner, while the runner itself runs inside a Ray actor (actor.py) on the node Ray places it on.

    daemon ─stdin──▶ bridge ─ actor.write(batch) ─▶ PodActor ─▶ guardian ─▶ runner   (node)
    daemon ◀stdout── bridge ◀─ actor.read() ──────┘

Started by the daemon's RayLauncher as `python -u -c "from podkeeper_ray.bridge import main; main()"`
with the launch in PODKEEPER_RAY_SPEC (JSON: address, resources, placement deadline, recipe dir,
dependencies) and the pod's environment, secrets included, in PODKEEPER_RAY_POD_ENV: both leave the
bridge's environment at once, and the pod environment reaches the node only as an argument of the
actor's start call.

Signals, as for a local guardian: SIGTERM is forwarded to the remote guardian (stop), SIGUSR1 kills
the remote tree now. Every exit path the bridge controls ends with `ray.kill` of its actor (owned,
never detached: an owned actor dies with its owner, even when the bridge is SIGKILLed).

A failure the daemon must tell apart is said in a last stderr line, `podkeeper-bridge: failure
{"code": ..., "message": ...}`, and exit code 70: REMOTE_UNAVAILABLE (the cluster cannot be reached,
or runs another Ray version), NO_CAPACITY (no node took the pod before the deadline), REMOTE_LOST
(the actor's node or worker died), ENV_BUILD_FAILED (the node could not build the dependencies).
Where the pod runs is said once placed: `podkeeper-bridge: placed {"node": ..., "host": ...}`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time

from . import stdio

FAILURE_EXIT = 70
PLACEMENT_LOG_SECONDS = 5.0
POD_DIRS_EXCLUDED = [".venv", "__pycache__", ".git", "models"]


class BridgeFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def main() -> None:
    channel = stdio.claim()  # before `import ray`: nothing of Ray's may ever write to the protocol's fd
    try:
        spec = json.loads(os.environ.pop("PODKEEPER_RAY_SPEC"))
        pod_env = json.loads(os.environ.pop("PODKEEPER_RAY_POD_ENV", "{}"))
    except (KeyError, ValueError) as error:
        stdio.note(f"bad launch: PODKEEPER_RAY_SPEC missing or not JSON ({error})")
        os._exit(2)
    bridge = Bridge(spec, pod_env, channel)
    try:
        code = bridge.run()
    except BridgeFailure as failure:
        bridge.release()
        stdio.report_failure(failure.code, str(failure))
        os._exit(FAILURE_EXIT)
    bridge.release()
    stdio.exit_like(code)


class Bridge:
    def __init__(self, spec: dict, pod_env: dict, channel: stdio.Channel) -> None:
        self.spec = spec
        self.pod_env = pod_env
        self.channel = channel
        self.actor = None
        self.ray = None
        self.done = threading.Event()
        self.status: int | None = None
        self.lost: BridgeFailure | None = None

    # ------------------------------------------------------------------ start

    def run(self) -> int:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self._connect()
        # After ray.init, which installs handlers of its own (a SIGTERM one that only logs a trace).
        for signum in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(signum, self._forward)
        where = self._place()
        stdio.report_event("placed", where)
        threading.Thread(target=self._relay_in, daemon=True).start()
        threading.Thread(target=self._relay_out, daemon=True).start()
        while not self.done.wait(0.5):  # the main thread stays free for signal handlers
            pass
        if self.lost is not None:
            raise self.lost
        return self.status if self.status is not None else 1

    def _connect(self) -> None:
        import ray

        self.ray = ray
        spec = self.spec
        pods_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        runtime_env = {
            "working_dir": spec["recipeDir"],
            "py_modules": [os.path.join(pods_dir, "podkeeper_pod"), os.path.join(pods_dir, "podkeeper_ray")],
            "excludes": POD_DIRS_EXCLUDED,
        }
        timeout = float(spec.get("connectTimeout", 30))
        watchdog = threading.Timer(timeout, _unreachable, (spec["address"], timeout))
        watchdog.daemon = True
        watchdog.start()
        try:
            ray.init(
                address=spec["address"],
                namespace=spec.get("namespace", "podkeeper"),
                runtime_env=runtime_env,
                log_to_driver=False,
                logging_level="warning",
                include_dashboard=False,
            )
        except Exception as error:  # noqa: BLE001 - ConnectionError, RuntimeError (version mismatch)...
            text = " ".join(str(error).split())
            raise BridgeFailure(
                "REMOTE_UNAVAILABLE",
                f"cannot join the Ray cluster at {spec['address']}: {text[:600]}",
            ) from None
        finally:
            watchdog.cancel()

    def _place(self) -> dict:
        from .actor import PodActor

        ray = self.ray
        spec = self.spec
        options = {
            "num_cpus": spec.get("numCpus", 0),
            "num_gpus": spec.get("numGpus", 0),
            "resources": spec.get("resources", {}),
            "max_concurrency": 1000,
            "max_restarts": 0,
            "name": None,
        }
        if spec.get("memoryMB"):
            options["memory"] = int(spec["memoryMB"]) * 1024 * 1024
        runtime_env = _dependencies_env(spec)
        if runtime_env:
            options["runtime_env"] = runtime_env
        remote_class = ray.remote(PodActor)
        self.actor = remote_class.options(**options).remote()
        started = self.actor.start.remote(None, self.pod_env)
        self.pod_env = {}
        stdio.report_event("asking", {"resources": options["resources"]})
        deadline = time.monotonic() + float(spec.get("placementTimeout", 120))
        asked = _describe_ask(options)
        began = time.monotonic()
        while True:
            ready, _ = ray.wait([started], timeout=min(PLACEMENT_LOG_SECONDS, max(deadline - time.monotonic(), 0)))
            if ready:
                break
            if time.monotonic() >= deadline:
                raise BridgeFailure(
                    "NO_CAPACITY",
                    f"no node of the Ray cluster at {spec['address']} took the pod within "
                    f"{spec.get('placementTimeout', 120)} s; it asked for {asked}",
                )
            waited = round(time.monotonic() - began)
            self.channel.log("info", f"waiting for a Ray node with {asked} ({waited} s)")
        try:
            return ray.get(started)
        except ray.exceptions.RuntimeEnvSetupError as error:
            raise BridgeFailure(
                "ENV_BUILD_FAILED", f"the node could not build the pod's environment: {error}"
            ) from None
        except ray.exceptions.RayActorError as error:
            raise BridgeFailure("REMOTE_LOST", f"the pod's actor died while starting: {_first_line(error)}") from None

    # ------------------------------------------------------------------ relay

    def _relay_in(self) -> None:
        """Daemon → actor: everything read while the previous write was in flight goes as one batch,
        one write at a time, so the runner sees the bytes in order."""
        pending = bytearray()
        lock = threading.Lock()
        more = threading.Event()
        closed = threading.Event()

        def reader() -> None:
            for data in self.channel.chunks():
                with lock:
                    pending.extend(data)
                more.set()
            closed.set()
            more.set()

        threading.Thread(target=reader, daemon=True).start()
        try:
            while True:
                more.wait()
                with lock:
                    batch = bytes(pending)
                    pending.clear()
                    if not closed.is_set():  # at the end, `more` stays set: the loop ends once all is sent
                        more.clear()
                if batch:
                    self.ray.get(self.actor.write.remote(batch))
                elif closed.is_set():
                    self.ray.get(self.actor.close_stdin.remote())
                    return
        except Exception as error:  # noqa: BLE001 - the actor is gone: _relay_out reports it
            stdio.note(f"input relay stopped: {_first_line(error)}")

    def _relay_out(self) -> None:
        ray = self.ray
        try:
            while True:
                out, err, status = ray.get(self.actor.read.remote())
                if err:
                    stdio.write_stderr(err)
                if out:
                    self.channel.write(out)
                if status is not None:
                    self.status = status
                    break
        except ray.exceptions.RayActorError as error:
            self.lost = BridgeFailure("REMOTE_LOST", f"the pod's node or Ray worker was lost: {_first_line(error)}")
        except ray.exceptions.RayTaskError as error:  # the actor's NodeLost: its raylet went away
            self.lost = BridgeFailure("REMOTE_LOST", f"the pod's node was lost: {_last_line(error)}")
        except Exception as error:  # noqa: BLE001 - anything else ends the pod as lost, said once
            self.lost = BridgeFailure("REMOTE_LOST", f"lost contact with the pod's actor: {_first_line(error)}")
        self.done.set()

    def _forward(self, signum: int, frame: object) -> None:
        if self.actor is None:  # not placed yet: nothing runs remotely, leave now
            self.release()
            stdio.exit_like(-signum)
        self.actor.signal.remote(int(signum))

    def release(self) -> None:
        """Kill our actor: it dies with us anyway, except over Ray Client where its owner is the head."""
        if self.actor is not None and self.ray is not None:
            with contextlib.suppress(Exception):  # already dead, or the cluster is gone
                self.ray.kill(self.actor, no_restart=True)


def _unreachable(address: str, timeout: float) -> None:
    """ray.init retries a silent address for minutes: past our deadline, say so and leave."""
    stdio.report_failure(
        "REMOTE_UNAVAILABLE",
        f"cannot join the Ray cluster at {address}: no answer within {timeout:g} s. Is the cluster "
        "running, and is the address its GCS address (host:port, as `ray start --head` printed)?",
    )
    os._exit(FAILURE_EXIT)


def _dependencies_env(spec: dict) -> dict:
    deps = spec.get("dependencies") or []
    if not deps:
        return {}
    options = ["--no-index", "--find-links", spec["wheelhouse"]] if spec.get("wheelhouse") else []
    return {"pip": {"packages": deps, "pip_check": False, "pip_install_options": options}}


def _describe_ask(options: dict) -> str:
    parts = [f"{name}={value}" for name, value in sorted(options["resources"].items())]
    for field in ("num_cpus", "num_gpus"):
        if options.get(field):
            parts.append(f"{field}={options[field]}")
    if options.get("memory"):
        parts.append(f"memory={options['memory'] // (1024 * 1024)} MB")
    return ", ".join(parts) or "no resources"


def _last_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1][:300] if text else type(error).__name__


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
