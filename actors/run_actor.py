"""RunActor: a Ray actor that hosts one run at a time, with its task's machine resources.

The run itself executes in a run process forked from the actor's zygote (see zygote.py), so
the actor outlives its processes: after `max_runs_per_actor` runs, a max_duration overrun, a
cancel or a crash it forks a fresh one in milliseconds instead of Ray starting a new worker.
The Ray worker process holds the resources and the Ray connection; it relays what task code
asks of the Scheduler, and reports a run process that died as the run's crash.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import ray

from tether.actors.control import RayControl
from tether.actors.zygote import Boot, Spawned, Zygote

EXIT_GRACE = 5.0  # seconds a run process told to exit has before it is killed


@ray.remote(max_restarts=0, max_concurrency=2)  # two: `stop` must reach an actor busy in `execute`
class RunActor:
    def __init__(self, database_url: str, environment_id: str, version: str, lease: float, project_root: str, modules: tuple[str, ...]) -> None:
        settings = {"database_url": database_url, "environment_id": environment_id, "version": version, "lease": lease}
        # Task code can tell which Ray node it runs on (the zygote and its run processes inherit this).
        os.environ["TETHER_NODE_ID"] = ray.get_runtime_context().get_node_id()
        self.zygote = Zygote(Boot(tuple(sys.path), project_root, tuple(modules), settings))
        self.control = RayControl()
        self._busy = threading.Lock()  # one request to the run process at a time
        self._state = threading.Lock()  # guards which run is current against a concurrent `stop`
        self._process: Spawned | None = None
        self._process_runs = 0
        self._current: str | None = None
        self._stopping: str | None = None
        self.runs_done = 0
        self.processes_started = 0
        self._process = self._spawn()  # the first run should not wait for a fork

    def __repr__(self) -> str:
        return f"RunActor(runs_done={self.runs_done} processes_started={self.processes_started})"

    def ready(self) -> bool:
        return True

    def pids(self) -> dict[str, int | None]:
        return {"actor": os.getpid(), "zygote": self.zygote.pid, "run_process": self._process.pid if self._process else None}

    # -- run processes ----------------------------------------------------------------------------

    def _spawn(self) -> Spawned:
        self.processes_started += 1
        self._process_runs = 0
        return self.zygote.spawn()

    def _retire(self, *, kill: bool) -> int:
        """End the current run process and return its exit code."""
        process, self._process = self._process, None
        if process is None:
            return 0
        if not kill:
            try:
                process.conn.send(("exit",))
                kill = not _wait_closed(process, EXIT_GRACE)
            except OSError:
                pass
        if kill:
            _kill(process.pid)
        process.conn.close()
        return self.zygote.reap(process.pid)

    def _request(self, message: tuple[Any, ...]) -> tuple[dict[str, Any] | None, str | None]:
        """Send one request to the run process; relay its Scheduler calls until it answers.

        Returns (reply, None), or (None, why) when the process died before answering.
        """
        if self._process is None:
            self._process = self._spawn()
        conn = self._process.conn
        failure: str | None = None
        try:
            conn.send(message)
            while True:
                kind, *rest = conn.recv()
                if kind == "done":
                    return rest[0], None
                if kind == "failed":
                    failure = rest[0]
                else:  # "wake" or "stop_run"
                    getattr(self.control, kind)(*rest)
        except (EOFError, OSError):
            pass
        code = self._retire(kill=True)
        return None, failure or _describe_exit(code)

    # -- what the Scheduler calls ---------------------------------------------------------------------

    def execute(self, run_id: str, token: str, max_runs: int) -> dict[str, Any]:
        with self._busy:
            with self._state:
                self._current, self._stopping = run_id, None
            reply, died = self._request(("execute", run_id, token))
            with self._state:
                self._current, stopping = None, self._stopping
            if reply is None:
                return {"status": None, "stopped": stopping} if stopping else {"status": None, "crashed": died}
            self.runs_done += 1
            self._process_runs += 1
            if stopping or reply.get("retire") or self._process_runs >= max_runs:
                self._retire(kill=bool(stopping))
            return {"status": reply.get("status"), "runs_done": self.runs_done}

    def stop(self, run_id: str, reason: str) -> bool:
        """Kill the run process if it is executing `run_id` (cancel, or a max_duration the run overran)."""
        with self._state:
            if self._current != run_id or self._process is None:
                return False
            self._stopping = reason
            _kill(self._process.pid)
            return True

    def failure_hook(self, run_id: str, reason: str) -> None:
        with self._busy:
            self._request(("failure_hook", run_id, reason))

    def __del__(self) -> None:
        try:
            self.zygote.close()
        except Exception:  # interpreter shutdown
            pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_closed(process: Spawned, timeout: float) -> bool:
    """True once the process has closed its end (it exited), False if it is still there after `timeout`."""
    try:
        while process.conn.poll(timeout):
            process.conn.recv()  # late relays from a process on its way out
    except (EOFError, OSError):
        return True
    return False


def _describe_exit(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        cause = " (killed from outside, or out of memory)" if -code == signal.SIGKILL else ""
        return f"the run's process was killed by {name}{cause}"
    return f"the run's process exited with code {code}"
