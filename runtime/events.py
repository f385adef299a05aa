"""The run event log: one sequence-numbered row per state change, written in the same transaction.

Realtime readers follow it by sequence number, so `Last-Event-ID` resumes exactly. Each gateway's
hub reads it once per tick; on PostgreSQL, writers of what a watcher waits on right now (metadata,
stream chunks) also `notify`, and the hubs, which LISTEN, read at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, insert, literal, select, text
from sqlalchemy.sql import FromClause

from tether._wire import utcnow
from tether.runtime.store.tables import RunEvent

_events = RunEvent.__table__
_INSERT = insert(_events)  # built once: it is on every transition's path
CHANNEL = "tether_realtime"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")


def notify(conn: Connection) -> None:
    """Wake every gateway's realtime hub when this transaction commits (PostgreSQL; SQLite hubs poll)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY)


def append(conn: Connection, run_ids: Iterable[str], status: str) -> None:
    ids = list(run_ids)
    if not ids:
        return
    now = utcnow()
    conn.execute(_INSERT, [{"run_id": rid, "status": status, "created_at": now} for rid in ids])


def insert_from(source: FromClause, status: str) -> Any:
    """The event rows for the runs in `source` (a FROM with an `id` column), stamped with the bound `p_now`."""
    now = bindparam("p_now", type_=DateTime(timezone=True))
    return insert(_events).from_select(["run_id", "status", "created_at"], select(source.c.id, literal(status), now))


def since(conn: Connection, run_id: str, after_seq: int) -> Sequence[tuple[int, str]]:
    rows = conn.execute(
        select(_events.c.seq, _events.c.status)
        .where(_events.c.run_id == run_id, _events.c.seq > after_seq)
        .order_by(_events.c.seq)
    )
    return [(int(seq), status) for seq, status in rows]
