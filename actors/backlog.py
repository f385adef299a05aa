"""Reading the backlog: which lanes have queued runs, and the first runs of the lanes to serve next.

The Scheduler asks for no more than it can start. Both queries walk the dequeue index
(status, environment, queue, concurrency key, rank), so their cost follows what is asked for,
not how many runs are queued behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, union_all

from tether.runtime import runs
from tether.runtime.states import RunStatus

_r = runs.runs_table.c
LaneKey = tuple[str, str, str]  # (environment, queue, concurrency key)


def lanes(conn: Connection) -> list[LaneKey]:
    """Every lane that holds a queued run (some may still be backing off before a retry)."""
    rows = conn.execute(
        select(_r.environment_id, _r.queue, _r.concurrency_key).where(_r.status == RunStatus.QUEUED).distinct()
    )
    return [(env, queue, key) for env, queue, key in rows]


def heads(conn: Connection, wanted: Iterable[tuple[LaneKey, int]], now: datetime) -> list[Any]:
    """Up to n available runs from the front of each lane, in rank order."""
    parts = [
        select(
            _r.id, _r.environment_id, _r.queue, _r.concurrency_key, _r.task_identifier, _r.machine, _r.dequeue_rank, _r.lock_to_version
        )
        .where(
            _r.status == RunStatus.QUEUED,
            _r.environment_id == env,
            _r.queue == queue,
            _r.concurrency_key == key,
            _r.available_at <= now,
        )
        .order_by(_r.dequeue_rank, _r.id)
        .limit(n)
        for (env, queue, key), n in wanted
        if n > 0
    ]
    if not parts:
        return []
    # Each part keeps its own ORDER BY/LIMIT inside a subquery; the union runs as one statement.
    statement = union_all(*[part.subquery().select() for part in parts]) if len(parts) > 1 else parts[0]
    return list(conn.execute(statement))
