"""Queue rows: declared limits, overrides, pause state. The Scheduler enforces them; this module stores them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tether._wire import utcnow
from tether.errors import NotFoundError
from tether.runtime.ids import queue_id
from tether.runtime.states import ACTIVE, PENDING
from tether.runtime.store.tables import QueueRow, RunRow

_queues = QueueRow.__table__
_runs = RunRow.__table__


def declare(
    conn: Connection,
    environment_id: str,
    name: str,
    limit: int | None,
    key_limit: int = 1,
    *,
    kind: str = "custom",
    update_limit: bool = True,
) -> None:
    """Create the queue if it does not exist; set its declared limits when given."""
    now = utcnow()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = {
        "id": queue_id(),
        "environment_id": environment_id,
        "name": name,
        "kind": kind,
        "concurrency_limit": limit,
        "concurrency_key_limit": key_limit,
        "paused": False,
        "created_at": now,
        "updated_at": now,
    }
    statement = insert(_queues).values(**values)
    if update_limit:
        statement = statement.on_conflict_do_update(
            index_elements=["environment_id", "name"],
            set_={"concurrency_limit": limit, "concurrency_key_limit": key_limit, "updated_at": now},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["environment_id", "name"])
    conn.execute(statement)


def get(conn: Connection, environment_id: str, name_or_id: str) -> Any:
    row = conn.execute(
        select(_queues).where(
            _queues.c.environment_id == environment_id, (_queues.c.name == name_or_id) | (_queues.c.id == name_or_id)
        )
    ).first()
    if row is None:
        raise NotFoundError(f"queue {name_or_id!r} not found")
    return row


def list_all(conn: Connection, environment_id: str) -> list[Any]:
    return list(conn.execute(select(_queues).where(_queues.c.environment_id == environment_id).order_by(_queues.c.name)))


def counts(conn: Connection, environment_id: str, names: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """queue name -> (running, queued)."""
    query = (
        select(_runs.c.queue, _runs.c.status, func.count())
        .where(_runs.c.environment_id == environment_id, _runs.c.status.in_([*ACTIVE, *PENDING]))
        .group_by(_runs.c.queue, _runs.c.status)
    )
    if names is not None:
        query = query.where(_runs.c.queue.in_(names))
    result: dict[str, tuple[int, int]] = {}
    for queue, status, count in conn.execute(query):
        running, queued = result.get(queue, (0, 0))
        if status in ACTIVE:
            running += count
        else:
            queued += count
        result[queue] = (running, queued)
    return result


def set_fields(conn: Connection, environment_id: str, name_or_id: str, **values: Any) -> Any:
    row = get(conn, environment_id, name_or_id)
    conn.execute(update(_queues).where(_queues.c.id == row.id).values(updated_at=utcnow(), **values))
    return get(conn, environment_id, row.id)


def effective_limit(row: Any, environment_limit: int) -> int:
    if row.limit_override is not None:
        return int(row.limit_override)
    if row.concurrency_limit is not None:
        return int(row.concurrency_limit)
    return environment_limit
