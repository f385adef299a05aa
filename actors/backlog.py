"""Reading the backlog: which lanes have queued runs, and the first runs of the lanes to serve next.

The Scheduler asks for no more than it can start. Both queries walk the dequeue index
(status, environment, queue, concurrency key, rank), so their cost follows what is asked for,
not how many runs are queued behind it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, Select, bindparam, select, union_all

from tether.runtime import runs
from tether.runtime.states import RunStatus

_r = runs.runs_table.c
LaneKey = tuple[str, str, str]  # (environment, queue, concurrency key)


_LANES = select(_r.environment_id, _r.queue, _r.concurrency_key).where(_r.status == RunStatus.QUEUED).distinct()


def lanes(conn: Connection) -> list[LaneKey]:
    """Every lane that holds a queued run (some may still be backing off before a retry)."""
    return [(env, queue, key) for env, queue, key in conn.execute(_LANES)]


def _head(i: int) -> Select[Any]:
    return (
        select(_r.id, _r.environment_id, _r.queue, _r.concurrency_key, _r.task_identifier, _r.machine, _r.dequeue_rank, _r.lock_to_version)
        .where(
            _r.status == RunStatus.QUEUED,
            _r.environment_id == bindparam(f"env_{i}"),
            _r.queue == bindparam(f"queue_{i}"),
            _r.concurrency_key == bindparam(f"key_{i}"),
            _r.available_at <= bindparam("now"),
        )
        .order_by(_r.dequeue_rank, _r.id)
        .limit(bindparam(f"n_{i}", type_=Integer, literal_execute=True))
    )


@functools.lru_cache(maxsize=256)
def _heads_statement(count: int) -> Any:
    """The query for the heads of `count` lanes, built once per count: building costs more than running it."""
    if count == 1:
        return _head(0)
    # Each part keeps its own ORDER BY/LIMIT inside a subquery; the union runs as one statement.
    return union_all(*[_head(i).subquery().select() for i in range(count)])


def heads(conn: Connection, wanted: Iterable[tuple[LaneKey, int]], now: datetime) -> list[Any]:
    """Up to n available runs from the front of each lane, in rank order."""
    asked = [(lane, n) for lane, n in wanted if n > 0]
    if not asked:
        return []
    params: dict[str, Any] = {"now": now}
    for i, ((env, queue, key), n) in enumerate(asked):
        params.update({f"env_{i}": env, f"queue_{i}": queue, f"key_{i}": key, f"n_{i}": n})
    return list(conn.execute(_heads_statement(len(asked)), params))
