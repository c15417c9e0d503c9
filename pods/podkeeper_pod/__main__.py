"""podkeeper pod runner: `python -u -m podkeeper_pod <recipe_dir>` (wire protocol v1,
docs/architecture.md#protocols).

    daemon ──stdin──▶ private fd ──▶ reader (leader) thread: dispatch.Dispatcher
                                        ├─ ping / cancel / shutdown ─▶ answered by the runner
                                        └─ recipe actions ─▶ executor.Executor
                                              ├─▶ the reader itself, then it follows (sync handlers)
                                              └─▶ one asyncio loop thread (coroutines, async gens)
    daemon ◀─stdout── private fd ◀── channel.Channel (one lock, one whole line per write)
                                        ▲ ready, log, progress, chunk, one result per request
    fd 0 ◀── /dev/null        fd 1 and sys.stdout ──▶ stderr (the daemon keeps it as the pod's log)

    main thread: read recipe.json ─▶ claim stdio ─▶ import entry ─▶ wait for an exit request
                 (SIGTERM, or any thread's request) ─▶ lifecycle.terminate (kill own group, exit)
    setup thread:                                    └─▶ setup(ctx) ─▶ ready ─▶ start the reader

Exit codes: 0 clean (shutdown, SIGTERM, end of input, parent gone), 2 bad invocation,
3 the recipe failed to import or set up. This module only wires the others together.
"""

from __future__ import annotations

import gc

gc.disable()  # no collection during the runner's own imports (one costs ~1 ms); see main()

import os
import sys
from _thread import start_new_thread

from . import loader, protocol
from .channel import Channel, claim_stdio, note
from .context import Context, Pod
from .executor import Executor
from .lifecycle import Lifecycle, set_title
from .memory import rss_mb

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

USAGE = "usage: python -m podkeeper_pod <recipe_dir>"

# Set by the guardian (guardian.py) in the runner it forks: waits until the guardian is the tree's
# subreaper, before the first line of recipe code runs.
before_recipe_code: Callable[[], None] | None = None
# Set in a pod forked from a zygote (forked.py): its guardian, which the daemon did not spawn itself.
guardian_pid: int | None = None


def main(argv: list[str]) -> int:
    gc.freeze()  # what is loaded so far lives as long as the process: never scan it again
    gc.enable()
    if len(argv) != 1 or argv[0].startswith("-"):
        note(f"{USAGE} (got {' '.join(argv) or 'no arguments'})")
        return 2
    try:
        recipe = loader.read_recipe(argv[0])
        channel = claim_stdio()
    except loader.InvocationError as error:
        note(f"{error}\n{USAGE}")
        return 2
    except OSError as error:
        note(f"cannot take over stdin/stdout: {error}")
        return 2

    life = Lifecycle()
    life.install()
    channel.on_broken = lambda: life.request_exit(0, "the daemon closed our stdout")
    pod = Pod.from_environment(channel.send, recipe.recipe_dir, recipe.config, recipe.model)
    executor = Executor(pod, recipe.concurrency, channel.send_line, lambda: life.request_exit(0))
    life.on_exit(executor.abandon)
    if before_recipe_code is not None:
        before_recipe_code()
    try:
        module = loader.load_entry(recipe)
        handlers = loader.collect_handlers(module)
        setup = loader.find_setup(module)
        if (setup is not None and setup.is_async) or any(h.is_async for h in handlers.values()):
            executor.async_runner()  # async recipe: start the loop while the daemon waits for ready
    except loader.LoadError as error:
        note(f"cannot load recipe {recipe.name!r}: {error}")
        life.terminate(3)
    except BaseException as error:  # noqa: BLE001 - whatever the recipe raised, even SystemExit
        _setup_failed(recipe, error)
        life.terminate(3)

    import threading  # noqa: F401 - before another thread starts, so that threading.main_thread() is this one

    # setup() and then serving run on another thread; this one waits for the exit request from here
    # on, so a SIGTERM is handled within a second even while setup() blocks in a C call (a model
    # load, a waitpid) that would keep the signal handler from running on the thread it blocks.
    start_new_thread(_set_up_and_serve, (recipe, channel, life, pod, executor, handlers, setup))
    life.terminate(life.wait())
    return 0  # not reached


def _set_up_and_serve(
    recipe: loader.Recipe,
    channel: Channel,
    life: Lifecycle,
    pod: Pod,
    executor: Executor,
    handlers: dict[str, loader.Handler],
    setup: loader.Handler | None,
) -> None:
    if setup is not None:
        try:
            _run_setup(setup, Context(pod), executor)
        except BaseException as error:  # noqa: BLE001 - whatever the recipe raised, even SystemExit
            _setup_failed(recipe, error)
            life.request_exit(3)
            return
    ready = protocol.ready_message(recipe.capability, list(handlers), os.getpid(), rss_mb(), _python(), guardian_pid)
    channel.send(ready)
    from .dispatch import Dispatcher

    def end_of_input() -> None:
        if not executor.draining:  # after `shutdown`, running handlers still finish and answer
            life.request_exit(0, "end of input (the daemon closed our stdin)")

    dispatcher = Dispatcher(channel, executor, handlers, end_of_input)
    start_new_thread(dispatcher.run, ())
    set_title(recipe.name)


def _setup_failed(recipe: loader.Recipe, error: BaseException) -> None:
    from .failures import format_traceback

    note(f"cannot load recipe {recipe.name!r}: the entry module or its setup raised\n{format_traceback(error)}")


def _run_setup(setup: loader.Handler, ctx: Context, executor: Executor) -> None:
    try:
        out = setup.fn(ctx)
        if hasattr(out, "__await__"):  # `async def setup`, or a setup returning an awaitable
            executor.async_runner().run(out)
    finally:
        ctx._finish()


def _python() -> str:
    return sys.version.split(" ", 1)[0]


def run() -> None:
    """The daemon's entry: `python -u -c "from podkeeper_pod.__main__ import run; run()" <recipe_dir>`.
    Unlike `-m`, `-c` does not load runpy, whose imports (importlib.util, contextlib, collections,
    functools) cost ~4 ms: most of the runner's start-up on an interpreter that starts in ~7 ms."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
