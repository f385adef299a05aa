"""How the gateway and task code reach the Scheduler: fire-and-forget Ray calls behind the engine's `Control`."""

from __future__ import annotations

import logging
import threading
from typing import Any

import ray

from tether.errors import TetherError

SCHEDULER_NAME = "tether-scheduler"
NAMESPACE = "tether"

log = logging.getLogger("tether.actor")


class SchedulerUnavailableError(TetherError):
    """The Scheduler could not be reached (it is restarting, or Ray is down)."""

    code = "scheduler_unavailable"
    status_code = 503


class RayControl:
    """Wakes the named Scheduler actor; looks it up again if it was restarted or not yet created."""

    def __init__(self) -> None:
        self._handle: Any = None
        self._lock = threading.Lock()

    def _scheduler(self) -> Any:
        with self._lock:
            if self._handle is None:
                self._handle = ray.get_actor(SCHEDULER_NAME, namespace=NAMESPACE)
            return self._handle

    def _send(self, method: str, *args: Any) -> None:
        try:
            reply = getattr(self._scheduler(), method).remote(*args)
        except Exception as exc:  # the Scheduler polls the store too, so a lost wake-up only costs latency
            log.warning("could not reach the Scheduler (%s): %s", method, exc)
            self._forget()
            return
        # A handle to a Scheduler that was replaced (not restarted) fails only when its reply comes back.
        reply.future().add_done_callback(lambda done: self._forget() if done.exception() else None)

    def _forget(self) -> None:
        with self._lock:
            self._handle = None

    def wake(self, config_changed: bool = False) -> None:
        self._send("wake", config_changed)

    def stop_run(self, run_id: str, reason: str) -> None:
        self._send("stop_run", run_id, reason)

    def cluster_status(self, timeout: float = 10.0) -> dict[str, Any]:
        """The Scheduler's view of the cluster: its nodes, the runs executing on each, what queued runs wait for."""
        try:
            return dict(ray.get(self._scheduler().cluster_status.remote(), timeout=timeout))
        except Exception as exc:
            self._forget()
            raise SchedulerUnavailableError(f"the Scheduler did not answer: {type(exc).__name__}: {exc}") from exc
