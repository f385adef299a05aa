"""Waitpoints: a run that waits longer than it is worth holding a process for is checkpointed.

Its attempt and the run move to WAITING, a waitpoint records what it waits for (for now, a
moment: a DATETIME waitpoint), and nothing of the run exists outside the database until the
Scheduler's timer completes the waitpoint and queues the run again. It then re-executes from the
top on any actor; its journal returns every step and wait it already made, and it carries on in
the same attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from tether._wire import utcnow
from tether.runtime import runs
from tether.runtime.ids import new_id
from tether.runtime.states import TERMINAL, RunStatus
from tether.runtime.store.tables import Waitpoint

_w = Waitpoint.__table__.c
_r = runs.runs_table.c
_a = runs.attempts_table.c
S = RunStatus


def suspend(conn: Connection, run: Any, attempt: int, token: str, *, until: datetime | None = None, child: str | None = None) -> str | None:
    """EXECUTING → WAITING until `until` or until the run `child` ends, for the dispatch holding
    `token`; returns the waitpoint id."""
    moved = runs.transition(
        conn, run.id, S.WAITING, where=[_r.attempt_count == attempt, _r.dispatch_token == token], dispatch_token=None, lease_expires_at=None
    )
    if not moved:
        return None
    conn.execute(
        update(runs.attempts_table).where(_a.run_id == run.id, _a.number == attempt, _a.status == "EXECUTING").values(status="WAITING")
    )
    waitpoint = new_id("waitpoint")
    now = utcnow()
    conn.execute(
        insert(Waitpoint.__table__).values(
            id=waitpoint,
            environment_id=run.environment_id,
            run_id=run.id,
            kind="DATETIME" if child is None else "RUN",
            status="PENDING",
            complete_after=until,
            awaited_run_id=child,
            created_at=now,
        )
    )
    return waitpoint


def next_deadline(conn: Connection) -> datetime | None:
    return conn.execute(select(func.min(_w.complete_after)).where(_w.status == "PENDING", _w.kind == "DATETIME")).scalar()


def awaiting_runs(conn: Connection) -> int:
    """How many RUN waitpoints are pending: while any is, every run's end is worth a look."""
    return int(conn.execute(select(func.count()).where(_w.status == "PENDING", _w.kind == "RUN")).scalar_one())


def _child_ended() -> Any:
    awaited = select(_r.id).where(_r.id == _w.awaited_run_id, _r.status.in_([s.value for s in TERMINAL]))
    return and_(_w.kind == "RUN", awaited.exists())


def any_child_ended(conn: Connection) -> bool:
    """Whether a pending RUN waitpoint's run has ended (a read, before taking a write transaction)."""
    return conn.execute(select(_w.id).where(_w.status == "PENDING", _child_ended()).limit(1)).first() is not None


def complete_due(conn: Connection, now: datetime) -> list[str]:
    """Complete the waitpoints whose moment came or whose awaited run ended; queue again the runs
    left waiting on nothing. Returns their ids."""
    due = list(
        conn.execute(
            select(_w.id, _w.run_id).where(_w.status == "PENDING", or_(and_(_w.kind == "DATETIME", _w.complete_after <= now), _child_ended()))
        )
    )
    if not due:
        return []
    conn.execute(update(Waitpoint.__table__).where(_w.id.in_([d.id for d in due]), _w.status == "PENDING").values(status="COMPLETED", completed_at=now))
    run_ids = sorted({d.run_id for d in due})
    still_waiting = {r[0] for r in conn.execute(select(_w.run_id).where(_w.run_id.in_(run_ids), _w.status == "PENDING"))}
    ready = [run_id for run_id in run_ids if run_id not in still_waiting]
    # The run keeps its place (dequeue rank) from when it was first queued: work in progress finishes first.
    return runs.transition(conn, ready, S.QUEUED, where=[_r.status == S.WAITING], queued_at=now, available_at=now)
