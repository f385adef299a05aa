"""A run process: forked from its RunActor's zygote, it executes that actor's runs one at a time.

It serves requests from the RunActor over a socket until told to exit (after
`max_runs_per_actor` runs, or when an overrun body thread makes it unfit for reuse):

    ("execute", run_id, token)     -> ("done", outcome)
    ("failure_hook", run_id, why)  -> ("done", {})
    ("exit",)

If it cannot start (the store is unreachable, say) it answers ("failed", reason) and exits.

Task code inside a run that triggers other runs or cancels one must wake the Scheduler, which
only Ray can reach; this process has no Ray, so those calls travel to the RunActor as
("wake", config_changed) and ("stop_run", run_id, reason) messages and the RunActor relays them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tether.actors.capture import RunSink, install
from tether.actors.execution import AttemptRunner
from tether.config import load_config
from tether.runtime.catalog import Catalog
from tether.runtime.engine import Engine
from tether.runtime.environments import KeyRing
from tether.runtime.store.database import Store


class PipeControl:
    """The engine's `Control` in a run process: asks the RunActor to pass the call on to the Scheduler."""

    def __init__(self, conn: Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            with self._lock:
                self._conn.send(message)
        except OSError:  # the RunActor is gone and this process is about to be killed with it
            pass

    def wake(self, config_changed: bool = False) -> None:
        self._send(("wake", config_changed))

    def stop_run(self, run_id: str, reason: str) -> None:
        self._send(("stop_run", run_id, reason))


def _watch_parent() -> None:
    """Where the kernel cannot kill us with our zygote (not Linux), notice it and leave."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="tether-parent-watch", daemon=True).start()


def build_runner(settings: dict[str, Any], control: PipeControl) -> AttemptRunner:
    store = Store(settings["database_url"])
    catalog = Catalog(store)
    info = catalog.version(settings["environment_id"], settings["version"])
    if info is None:
        raise RuntimeError(f"version {settings['version']} of environment {settings['environment_id']} is not registered")
    config = load_config(Path(info.project_root))
    sink = RunSink()
    install(sink, config.log_level)
    logging.getLogger("tether.actor").setLevel(logging.WARNING)
    env = KeyRing(store).by_id(settings["environment_id"])
    return AttemptRunner(Engine(store, control, catalog), env, config, info.tasks, sink, settings["lease"])


def serve(conn: Connection, settings: dict[str, Any]) -> None:
    if not sys.platform.startswith("linux"):
        _watch_parent()
    lock = threading.Lock()
    try:
        runner = build_runner(settings, PipeControl(conn, lock))
    except Exception as exc:  # the RunActor records the run it was about to hand over as crashed, with this reason
        conn.send(("failed", f"the run process could not start: {type(exc).__name__}: {exc}"))
        raise
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request[0] == "execute":
            reply: dict[str, Any] = runner.run(request[1], request[2]).as_dict()
        elif request[0] == "failure_hook":
            runner.failure_hook(request[1], request[2])
            reply = {}
        else:
            return
        with lock:
            conn.send(("done", reply))
