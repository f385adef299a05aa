"""Reading runs and changing their status: every change is a guarded transition with an event."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from tether._wire import utcnow
from tether.errors import NotFoundError
from tether.runtime import events, serialize
from tether.runtime.states import TERMINAL, UNSUCCESSFUL, RunStatus, allowed_from
from tether.runtime.store.tables import AttemptRow, RunRow, RunTag

runs_table = RunRow.__table__
attempts_table = AttemptRow.__table__
tags_table = RunTag.__table__
_r = runs_table.c


def _entry_values(to: RunStatus, values: dict[str, Any], now: Any) -> dict[str, Any]:
    """What entering `to` always writes besides the status: unsuccessful ends release the idempotency key."""
    values.setdefault("updated_at", now)
    if to in TERMINAL:
        values.setdefault("finished_at", now)
        values.setdefault("lease_expires_at", None)
    if to in UNSUCCESSFUL:
        values.setdefault("idempotency_slot", None)
    return {"status": to.value, **values}


def _allowed(to: RunStatus) -> ColumnElement[bool]:
    return _r.status.in_([s.value for s in allowed_from(to)])


def transition(
    conn: Connection,
    run_ids: str | Sequence[str],
    to: RunStatus,
    *,
    where: Iterable[ColumnElement[bool]] = (),
    **values: Any,
) -> list[str]:
    """Move runs to `to` if their current status allows it; return the ids that moved."""
    ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    if not ids:
        return []
    statement = (
        update(runs_table)
        .where(_r.id.in_(ids), _allowed(to), *where)
        .values(**_entry_values(to, values, utcnow()))
        .returning(_r.id)
    )
    moved = [row.id for row in conn.execute(statement)]
    events.append(conn, moved, to)
    return moved


Follow = Callable[[FromClause], Any]  # builds a write about the moved run, reading it from the given FROM


class PreparedTransition:
    """A guarded transition built once, for the hot paths that run it on every attempt.

    Building an UPDATE costs more CPU than executing it, so the statement is made at import,
    with the same guard and entry values as `transition`, and executed with parameters.
    `run_id` and `now` are always bound; the other parameters are named `p_<name>` in the
    statement and passed to `run` as `<name>=`.

    `follow` are writes that go with the move (an attempt opened or closed). On PostgreSQL the
    update, those writes and the event insert are one statement (data-modifying CTEs), which
    halves the round trips of a run's life; elsewhere they run one after another.
    """

    def __init__(
        self,
        to: RunStatus,
        *,
        where: Iterable[ColumnElement[bool]] = (),
        returning: Sequence[Any] = (),
        follow: Sequence[Follow] = (),
        **values: Any,
    ) -> None:
        self.to = to
        entry = _entry_values(to, values, bindparam("p_now"))
        guard = [_allowed(to), *where]
        columns = [_r.id, *[c for c in returning if c is not _r.id]]
        self.statement = update(runs_table).where(_r.id == bindparam("p_run_id"), *guard).values(**entry).returning(*columns)
        current = select(runs_table).where(_r.id == bindparam("p_run_id")).subquery("moved")
        self._follow = [build(current) for build in follow]
        moved = self.statement.cte("moved")
        writes = [build(moved).cte(f"follow_{i}") for i, build in enumerate(follow)]
        self._combined = select(moved).add_cte(*writes, events.insert_from(moved, to).cte("event"))
        self.many = update(runs_table).where(_r.id.in_(bindparam("p_run_ids", expanding=True)), *guard).values(**entry).returning(_r.id)
        moved_many = self.many.cte("moved")
        self._many_combined = select(moved_many.c.id).add_cte(events.insert_from(moved_many, to).cte("event"))

    def run(self, conn: Connection, run_id: str, **params: Any) -> Any:
        bound = {"p_run_id": run_id, "p_now": utcnow(), **{f"p_{name}": value for name, value in params.items()}}
        if conn.dialect.name == "postgresql":
            return conn.execute(self._combined, bound).first()
        row = conn.execute(self.statement, bound).first()
        if row is not None:
            for statement in self._follow:
                conn.execute(statement, bound)
            events.append(conn, [run_id], self.to)
        return row

    def run_many(self, conn: Connection, run_ids: Sequence[str], **params: Any) -> list[str]:
        """The transition for several runs at once; returns the ids that moved."""
        if not run_ids:
            return []
        bound = {"p_run_ids": list(run_ids), "p_now": utcnow(), **{f"p_{name}": value for name, value in params.items()}}
        if conn.dialect.name == "postgresql":
            return [row.id for row in conn.execute(self._many_combined, bound)]
        moved = [row.id for row in conn.execute(self.many, bound)]
        events.append(conn, moved, self.to)
        return moved


def get(conn: Connection, environment_id: str | None, run_id: str) -> Any:
    query = select(runs_table).where(_r.id == run_id)
    if environment_id is not None:
        query = query.where(_r.environment_id == environment_id)
    row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"run {run_id!r} not found")
    return row


def detail(conn: Connection, row: Any) -> dict[str, Any]:
    """The run as `GET /api/v3/runs/{id}` shows it: with its attempts and related runs."""
    from tether.runtime.schedules import schedule_of_runs  # schedules make runs: it imports what this module does

    schedule = schedule_of_runs(conn, {row.schedule_id}).get(row.schedule_id) if row.schedule_id else None
    return serialize.run_detail(row, attempts(conn, row.id), related(conn, row), schedule)


def attempts(conn: Connection, run_id: str) -> list[Any]:
    return list(
        conn.execute(select(attempts_table).where(attempts_table.c.run_id == run_id).order_by(attempts_table.c.number))
    )


def related(conn: Connection, row: Any) -> dict[str, Any]:
    """The run's parent, root and children, as small rows."""
    fields = (_r.id, _r.status, _r.task_identifier, _r.depth, _r.trigger_function, _r.batch_id, _r.created_at, _r.updated_at)
    out: dict[str, Any] = {"parent": None, "root": None, "children": []}
    for name, rid in (("parent", row.parent_run_id), ("root", row.root_run_id)):
        if rid:
            out[name] = conn.execute(select(*fields).where(_r.id == rid)).first()
    out["children"] = list(conn.execute(select(*fields).where(_r.parent_run_id == row.id).order_by(_r.id)))
    return out


def list_page(
    conn: Connection,
    environment_id: str,
    *,
    statuses: list[str] | None = None,
    task_identifiers: list[str] | None = None,
    tags: list[str] | None = None,
    queues: list[str] | None = None,
    versions: list[str] | None = None,
    machines: list[str] | None = None,
    only_tests: bool = False,
    batch_id: str | None = None,
    schedule_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 25,
    after: str | None = None,
    before: str | None = None,
) -> tuple[list[Any], str | None, str | None]:
    """Runs newest first. Ids are time-ordered, so the id itself is the cursor."""
    conditions: list[ColumnElement[bool]] = [_r.environment_id == environment_id]
    if statuses:
        conditions.append(_r.status.in_(statuses))
    if task_identifiers:
        conditions.append(_r.task_identifier.in_(task_identifiers))
    if queues:
        conditions.append(_r.queue.in_(queues))
    if versions:
        conditions.append(_r.version.in_(versions))
    if machines:
        conditions.append(_r.machine.in_(machines))
    if only_tests:
        conditions.append(_r.id.is_(None))  # Tether has no test runs
    if batch_id:
        conditions.append(_r.batch_id == batch_id)
    if schedule_id:
        conditions.append(_r.schedule_id == schedule_id)
    if created_from:
        conditions.append(_r.created_at >= created_from)
    if created_to:
        conditions.append(_r.created_at <= created_to)
    if tags:
        conditions.append(_r.id.in_(select(tags_table.c.run_id).where(tags_table.c.tag.in_(tags))))
    ascending = before is not None and after is None
    if after:
        conditions.append(_r.id < after)
    elif before:
        conditions.append(_r.id > before)
    order = _r.id.asc() if ascending else _r.id.desc()
    rows = list(conn.execute(select(runs_table).where(and_(*conditions)).order_by(order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if ascending:
        rows.reverse()
    next_cursor = rows[-1].id if rows and (more or ascending) else None
    previous_cursor = rows[0].id if rows and (after or (ascending and more)) else None
    return rows, next_cursor, previous_cursor


def add_tags(conn: Connection, environment_id: str, run_id: str, new_tags: list[str], max_tags: int) -> int:
    from tether.errors import ValidationError

    row = get(conn, environment_id, run_id)
    current = list(row.tags or [])
    added = [t for t in dict.fromkeys(new_tags) if t not in current]
    if len(current) + len(added) > max_tags:
        raise ValidationError(f"a run has at most {max_tags} tags; {run_id} has {len(current)} and {len(added)} were added")
    if added:
        conn.execute(update(runs_table).where(_r.id == run_id).values(tags=current + added, updated_at=utcnow()))
        conn.execute(tags_table.insert(), [{"run_id": run_id, "tag": t} for t in added])
    return len(added)
