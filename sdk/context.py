"""What task code can know about the run it is in, and the logger whose lines are kept with the run."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunContext:
    """Passed to lifecycle hooks as `ctx`; also `tether.current_run()` inside a run.

    `reason` is set for `on_failure`: FAILED, TIMED_OUT, CRASHED or CANCELED.
    """

    run_id: str
    task_id: str
    attempt: int
    queue: str
    version: str | None = None
    tags: tuple[str, ...] = ()
    reason: str | None = None
    metadata: dict[str, Any] | None = None


_current: ContextVar[RunContext | None] = ContextVar("tether_current_run", default=None)

logger = logging.getLogger("tether.task")
"""Log through this (or any logger, or print): every line is stored with the run and readable via `runs.logs`."""


def current_run() -> RunContext | None:
    return _current.get()


def set_current_run(ctx: RunContext | None) -> object:
    return _current.set(ctx)
