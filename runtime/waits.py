"""Waitpoints: a run that waits longer than it is worth holding a process for is checkpointed.

Its attempt and the run move to WAITING, and `run_waitpoints` links the run to what it waits for:
a moment (a DATETIME waitpoint), another run's end (RUN) or a token (MANUAL). Nothing of the run
exists outside the database until the waitpoint completes (the Scheduler's timer, a child's end,
a token completed over the API); then the run is queued again, re-executes from the top on any
actor (its journal returns every step and wait it already made) and carries on in the same attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update

from tether._wire import utcnow
from tether.runtime import runs
from tether.runtime.ids import new_id
from tether.runtime.states import TERMINAL, RunStatus
from tether.runtime.store.tables import RunWaitpoint, Waitpoint

_waitpoints = Waitpoint.__table__
_links = RunWaitpoint.__table__
_w = _waitpoints.c
_l = _links.c
_r = runs.runs_table.c
_a = runs.attempts_table.c
S = RunStatus
WAITING, COMPLETED, TIMED_OUT = "WAITING", "COMPLETED", "TIMED_OUT"


def create(conn: Connection, environment_id: str, kind: str, **values: Any) -> str:
    waitpoint = new_id("waitpoint")
    conn.execute(insert(_waitpoints).values(id=waitpoint, environment_id=environment_id, kind=kind, status=WAITING, created_at=utcnow(), **values))
    return waitpoint


def suspend(
    conn: Connection,
    run: Any,
    attempt: int,
    token: str,
    *,
    until: datetime | None = None,
    children: Sequence[str] = (),
    waitpoints: Sequence[str] = (),
) -> list[str] | None:
    """EXECUTING → WAITING for the dispatch holding `token`, blocked by waitpoints until all of them
    complete: a new one for a moment (`until`) and for each child run (`children`), and existing
    ones (tokens' `waitpoints`). Returns their ids (None if the run was no longer this dispatch's)."""
    moved = runs.transition(
        conn, run.id, S.WAITING, where=[_r.attempt_count == attempt, _r.dispatch_token == token], dispatch_token=None, lease_expires_at=None
    )
    if not moved:
        return None
    conn.execute(update(runs.attempts_table).where(_a.run_id == run.id, _a.number == attempt, _a.status == "EXECUTING").values(status="WAITING"))
    blockers = list(waitpoints) + [create(conn, run.environment_id, "RUN", awaited_run_id=child) for child in children]
    if until is not None:
        blockers.append(create(conn, run.environment_id, "DATETIME", complete_after=until))
    now = utcnow()
    conn.execute(insert(_links), [{"run_id": run.id, "waitpoint_id": w, "created_at": now} for w in blockers])
    # Locked, so that a completion racing this suspension either sees the links or is seen here.
    states = list(conn.execute(select(_w.id, _w.status, _w.kind, _w.awaited_run_id).where(_w.id.in_(blockers)).with_for_update()))
    if children:  # a child may have ended while its parent was checkpointing
        ended = {r[0] for r in conn.execute(select(_r.id).where(_r.id.in_(list(children)), _r.status.in_([s.value for s in TERMINAL])))}
        complete(conn, [s.id for s in states if s.status == WAITING and s.kind == "RUN" and s.awaited_run_id in ended], COMPLETED)
    if any(s.status != WAITING for s in states):
        _release(conn, blockers, now)  # a token completed before the run got here
    return blockers


def complete(conn: Connection, waitpoint_ids: Sequence[str], status: str, output: Any = None, *, is_error: bool = False) -> list[str]:
    """WAITING → `status` for these waitpoints; queue again the runs they no longer block. Returns
    the ids of the waitpoints this call completed (a second completion completes nothing)."""
    if not waitpoint_ids:
        return []
    now = utcnow()
    done = [
        row.id
        for row in conn.execute(
            update(_waitpoints)
            .where(_w.id.in_(list(waitpoint_ids)), _w.status == WAITING)
            .values(status=status, output=output, output_is_error=is_error, completed_at=now)
            .returning(_w.id)
        )
    ]
    _release(conn, done, now)
    return done


def _release(conn: Connection, waitpoint_ids: Sequence[str], now: datetime) -> list[str]:
    """Queue again the WAITING runs linked to these waitpoints that no WAITING waitpoint blocks."""
    if not waitpoint_ids:
        return []
    linked = {r[0] for r in conn.execute(select(_l.run_id).where(_l.waitpoint_id.in_(list(waitpoint_ids))))}
    if not linked:
        return []
    still = select(_l.run_id).join(_waitpoints, _w.id == _l.waitpoint_id).where(_l.run_id.in_(linked), _w.status == WAITING)
    blocked = {r[0] for r in conn.execute(still)}
    free = sorted(linked - blocked)
    if not free:
        return []
    conn.execute(delete(_links).where(_l.run_id.in_(free)))
    # A resumed run keeps its place (dequeue rank) from when it was first queued: work in progress finishes first.
    return runs.transition(conn, free, S.QUEUED, where=[_r.status == S.WAITING], queued_at=now, available_at=now)


def _child_ended() -> Any:
    awaited = select(_r.id).where(_r.id == _w.awaited_run_id, _r.status.in_([s.value for s in TERMINAL]))
    return and_(_w.kind == "RUN", exists(awaited))


def next_deadline(conn: Connection, *, tokens: bool = True) -> datetime | None:
    """The soonest moment a waitpoint completes or (a token) times out."""
    query = select(func.min(_w.complete_after)).where(_w.status == WAITING, _w.complete_after.is_not(None))
    return conn.execute(query if tokens else query.where(_w.kind != "MANUAL")).scalar()


def awaiting_runs(conn: Connection) -> int:
    """How many RUN waitpoints are waiting: while any is, every run's end is worth a look."""
    return int(conn.execute(select(func.count()).where(_w.status == WAITING, _w.kind == "RUN")).scalar_one())


def any_child_ended(conn: Connection) -> bool:
    """Whether a waiting RUN waitpoint's run has ended (a read, before taking a write transaction)."""
    return conn.execute(select(_w.id).where(_w.status == WAITING, _child_ended()).limit(1)).first() is not None


def complete_due(conn: Connection, now: datetime) -> int:
    """The timer's pass: moments that came, children that ended, tokens that timed out. Returns how
    many waitpoints it completed."""
    due = list(
        conn.execute(
            select(_w.id, _w.kind).where(
                _w.status == WAITING, or_(and_(_w.complete_after.is_not(None), _w.complete_after <= now), _child_ended())
            )
        )
    )
    timed_out = [d.id for d in due if d.kind == "MANUAL"]
    reached = [d.id for d in due if d.kind != "MANUAL"]
    done = complete(conn, reached, COMPLETED)
    done += complete(conn, timed_out, TIMED_OUT, {"message": "the token timed out before it was completed"}, is_error=True)
    return len(done)
