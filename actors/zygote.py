"""The zygote: a clean process that has imported a version's task code once and forks run processes.

Starting a Python process that imports Ray, SQLAlchemy and the task code costs about a CPU-second
on a small machine; forking one that already has them costs a few milliseconds. So a RunActor
starts one zygote when it boots (a fresh interpreter, not a fork of the Ray worker, so no Ray
threads or sockets are copied), and every run process it needs afterwards is forked from it:
`max_runs_per_actor` then recycles processes without paying for an interpreter each time.

The RunActor talks to the zygote over one socket (pickled tuples): ("spawn",) answers
("spawned", pid) followed by the new run process's socket end; ("reap", pid) waits for that
process and answers its exit code. When the RunActor's process dies the socket closes, and the
zygote kills its run processes and exits; they in turn die with the zygote (Linux parent-death
signal, and a check of the parent in their heartbeat everywhere else).
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import traceback
from dataclasses import dataclass
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Any

from tether.errors import TetherError

BOOT_TIMEOUT = 300.0  # seconds to import a version's code; a module that takes longer is broken


class ZygoteError(TetherError):
    """The zygote could not start or stopped answering (the task code failed to import, or it died)."""


@dataclass(frozen=True)
class Boot:
    """What a zygote needs to become a template for one version's run processes."""

    sys_path: tuple[str, ...]
    project_root: str
    modules: tuple[str, ...]
    child: dict[str, Any]  # handed to every run process: see run_process.serve


@dataclass(frozen=True)
class Spawned:
    pid: int
    conn: Connection


class Zygote:
    """The RunActor's end: start the zygote, fork run processes from it, reap them."""

    def __init__(self, boot: Boot) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tether.actors.zygote", str(theirs.fileno())], pass_fds=(theirs.fileno(),), close_fds=True
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send(boot)
        if not self._conn.poll(BOOT_TIMEOUT):
            self.close()
            raise ZygoteError(f"the task code took more than {BOOT_TIMEOUT:g}s to import")
        reply = self._recv()
        if reply[0] != "ready":
            self.close()
            raise ZygoteError(reply[1])

    @property
    def pid(self) -> int:
        return self._process.pid

    def _recv(self) -> tuple[Any, ...]:
        try:
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            raise ZygoteError(f"the zygote process exited (code {self._process.poll()})") from exc

    def spawn(self) -> Spawned:
        self._conn.send(("spawn",))
        _, pid = self._recv()
        fd = reduction.recv_handle(self._conn)
        return Spawned(pid, Connection(fd))

    def reap(self, pid: int) -> int:
        """Wait for a run process to end and return its exit code (negative: the signal that killed it)."""
        self._conn.send(("reap", pid))
        return int(self._recv()[1])

    def close(self) -> None:
        self._conn.close()  # the zygote sees EOF, kills its run processes and exits
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


# -- inside the zygote process -------------------------------------------------------------------------


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the process that forked it dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _prepare(boot: Boot) -> None:
    sys.path[:] = list(boot.sys_path)
    from tether.runtime.discovery import import_modules

    # What every run process needs anyway, imported once here so that forking gives it for free:
    # the runtime, and the database driver (an engine imports it; it connects only when used).
    import tether.actors.run_process  # noqa: F401
    from tether.runtime.store.database import Store

    Store(boot.child["database_url"]).dispose()
    import_modules(boot.project_root, boot.modules)
    # What is loaded now lives as long as the process: keep the collector off it, so run processes
    # neither spend time scanning it nor copy its pages by touching them (copy-on-write).
    gc.freeze()


def _serve(control: Connection, boot: Boot) -> None:
    children: set[int] = set()
    try:
        while True:
            try:
                request = control.recv()
            except (EOFError, OSError):
                return  # the RunActor is gone
            if request[0] == "spawn":
                ours, theirs = socket.socketpair()
                pid = os.fork()
                if pid == 0:  # the run process
                    control.close()
                    ours.close()
                    _child(theirs, boot)
                theirs.close()
                children.add(pid)
                control.send(("spawned", pid))
                reduction.send_handle(control, ours.fileno(), pid)
                ours.close()
            elif request[0] == "reap":
                pid = request[1]
                _, status = os.waitpid(pid, 0)
                children.discard(pid)
                control.send(("reaped", os.waitstatus_to_exitcode(status)))
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _child(sock: socket.socket, boot: Boot) -> None:
    code = 1
    try:
        die_with_parent()
        from tether.actors.run_process import serve

        serve(Connection(sock.detach()), boot.child)
        code = 0
    except BaseException:  # noqa: BLE001 - a run process reports and exits; it never returns to the zygote's loop
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    control = Connection(int(sys.argv[1]))
    boot: Boot = control.recv()
    try:
        _prepare(boot)
    except BaseException as exc:  # noqa: BLE001 - reported to the RunActor, which fails to start with it
        control.send(("error", f"cannot import the task code: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        return
    control.send(("ready",))
    _serve(control, boot)


if __name__ == "__main__":
    main()
