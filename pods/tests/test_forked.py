"""What a forked runner does to become its pod (forked.py): take the pod's environment by changing
only what differs from the zygote's, and see it as any spawned process would (real subprocesses)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from podkeeper_pod import forked, lifecycle, prefork, zygote


@pytest.fixture
def environ():
    """os.environ with three variables of a zygote's; the process's own environment comes back after."""
    saved = dict(os.environ)
    os.environ.update(PK_SAME="same", PK_CHANGED="old", PK_GONE="zygote only")
    yield os.environ
    for name in [name for name in os.environ if name not in saved]:
        del os.environ[name]
    os.environ.update(saved)


def test_a_forked_runner_takes_its_pods_environment(environ):
    wanted = {name: value for name, value in environ.items() if name != "PK_GONE"}
    wanted.update(PK_CHANGED="new", PK_NEW="added")
    forked.take_environ(wanted)
    assert dict(environ) == wanted
    # What a subprocess of the recipe inherits: the C environment, not only the mapping.
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; print(os.environ.get('PK_CHANGED'), os.environ.get('PK_NEW'), 'PK_GONE' in os.environ)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert seen == ["new", "added", "False"]


def test_a_forked_runner_undoes_what_a_preload_changed_in_the_c_environment_alone(environ):
    """A preload may change the C environment without os.environ knowing (os.putenv, os.unsetenv, a
    C extension's setenv): a subprocess of the pod must still see the pod's environment."""
    os.putenv("PK_SAME", "changed in C only")
    os.unsetenv("PK_CHANGED")
    os.putenv("PK_C_ONLY", "set in C only")
    try:
        forked.sync_c_environ()  # the zygote's settle(), before its first fork
        forked.take_environ(dict(environ))
        shown = subprocess.run(
            ["sh", "-c", 'echo "$PK_SAME|$PK_CHANGED|${PK_C_ONLY-unset}"'], capture_output=True, text=True, check=True
        ).stdout.strip()
    finally:
        os.unsetenv("PK_C_ONLY")
    assert shown == "same|old|unset"


def test_taking_the_environment_leaves_what_is_unchanged_as_the_zygote_made_it(environ):
    """Rewriting every variable frees and reallocates each name and value, writing to pages the pod
    shares with the zygote (measured: ~350 kB more private memory per forked pod)."""
    name, value = environ.encodekey("PK_SAME"), environ.encodevalue("same")
    stored = environ._data[name]
    assert stored == value
    forked.take_environ({**environ, "PK_CHANGED": "new"})
    assert environ._data[name] is stored


def test_the_title_setter_is_looked_up_once(monkeypatch):
    """A zygote looks setproctitle up before forking, so that no pod repeats a failed import."""
    lookups = []

    class Finder:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name == "setproctitle":
                lookups.append(name)

    monkeypatch.setattr(lifecycle, "_title_setter", [])
    monkeypatch.delenv("SPT_NOENV", raising=False)  # set by the look-up: restored after the test
    monkeypatch.setattr(sys, "meta_path", [Finder, *sys.meta_path])
    monkeypatch.delitem(sys.modules, "setproctitle", raising=False)
    first = lifecycle.title_setter()
    sys.modules.pop("setproctitle", None)  # were it imported again, the finder would see it again
    assert lifecycle.title_setter() is first
    assert lookups == ["setproctitle"]


def test_a_spare_accepts_as_the_c_socket_type(tmp_path):
    """The guardian of a spare accepts without socket.py: its Python code (and the enums it converts
    the family and type into) would be copied from the zygote's pages into every forked pod."""
    listener = zygote.listen(str(tmp_path / "z.sock"))
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        assert not isinstance(listener, socket.socket)
        client.connect(str(tmp_path / "z.sock"))
        conn = prefork.accept(listener)
        try:
            assert not isinstance(conn, socket.socket)
            client.sendall(b"c" + b"n" * prefork.NONCE_BYTES)
            assert prefork.opening(conn) == (b"c", b"n" * prefork.NONCE_BYTES)
        finally:
            conn.close()
    finally:
        client.close()
        listener.close()


FORK_WITHOUT_HOOKS = r"""
import os, signal, sys, threading
from podkeeper_pod import forked

how = sys.argv[1]
ran = []
os.register_at_fork(after_in_child=lambda: ran.append(os.getpid()))
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
if how == "a thread runs":
    done = threading.Event()
    threading.Thread(target=done.wait).start()
elif how == "no libc fork":
    forked._libc_fork = lambda: None
elif how == "libc fork fails":
    forked._libc_fork = lambda: lambda: -1
elif how == "no /proc":
    listdir = os.listdir
    os.listdir = lambda path: listdir(path) if not str(path).startswith("/proc") else listdir("/no/proc")
read_end, write_end = os.pipe()
pid = os.fork() if how == "os.fork" else forked.fork_without_hooks()
if pid == 0:
    mask = sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))
    os.write(write_end, repr((os.getppid(), ran, mask)).encode())
    os._exit(0)
os.close(write_end)
print(repr((os.getpid(), pid, os.waitpid(pid, 0)[1], eval(os.read(read_end, 4096)),
            sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))))
if how == "a thread runs":
    done.set()
"""


@pytest.mark.parametrize(
    "how", ["one thread", "os.fork", "a thread runs", "no libc fork", "libc fork fails", "no /proc"]
)
def test_a_spare_guardian_is_forked_without_the_after_fork_hooks_when_alone(how, pod_env):
    """The guardian runs none of the code those hooks prepare (threading's, logging's, random's, a
    preload's): each ran in it wrote pages shared with the zygote. Its runner, forked by os.fork(),
    still runs them all. With another thread (which could hold a lock the fork would copy), or
    without libc's fork, it is os.fork(). The child is a real child, with the parent's signal mask."""
    out = subprocess.run(
        [sys.executable, "-c", FORK_WITHOUT_HOOKS, how], env=pod_env, capture_output=True, text=True, check=True
    )
    parent, child, status, (childs_parent, ran, child_mask), parent_mask = eval(out.stdout)
    assert child > 0 and childs_parent == parent and status == 0
    assert child_mask == parent_mask == [int(signal.SIGUSR2)]
    if how == "one thread" and sys.platform.startswith("linux"):
        assert ran == []
    else:
        assert ran == [child]


FORK_AS_CALLED = r"""
import os, signal, _ctypes
from podkeeper_pod import forked

libc_fork = forked._libc_fork()
assert libc_fork._flags_ & _ctypes.FUNCFLAG_PYTHONAPI  # the GIL stays held: no thread takes it meanwhile
seen = []

def fork():
    seen.append(sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))
    return libc_fork()

forked._libc_fork = lambda: fork
pid = forked.fork_without_hooks()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
blockable = set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
print(len(seen) == 1 and set(seen[0]) >= {int(s) for s in blockable})
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libc's fork is used on Linux only")
def test_libc_fork_is_called_holding_the_gil_with_every_signal_blocked(pod_env):
    """No other thread may take the GIL, and no handler run, while the fork copies this process."""
    out = subprocess.run(
        [sys.executable, "-c", FORK_AS_CALLED], check=False, env=pod_env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
