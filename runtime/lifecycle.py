"""A run's life after it is created: dequeue, attempts, retries, crashes, timeouts, cancel, expiry.

Every function here is one guarded transition (or a set of them) in the caller's transaction.
The `dispatch_token` written at dequeue ties an attempt to the dispatch that started it, so a
stale actor (one whose run was already recovered) cannot finish the run a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, String, bindparam, case, exists, func, literal, select, tuple_, update
from sqlalchemy.sql import FromClause

from tether._wire import utcnow
from tether.retry import Retry
from tether.runtime import runs
from tether.runtime.ids import attempt_id
from tether.runtime.states import ACTIVE, TERMINAL, RunStatus
from tether.runtime.store.tables import QueueRow

_r = runs.runs_table.c
_a = runs.attempts_table.c
_When = DateTime(timezone=True)
S = RunStatus


def error_record(message: str, name: str = "Error", stack: str | None = None, code: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"message": message, "name": name}
    if stack:
        record["stackTrace"] = stack
    if code:
        record["code"] = code
    return record


def retry_delay(conn: Connection, run: Any, policy: Retry) -> float | None:
    """Seconds until the run's next attempt, or None when its attempts are used up.

    Only attempts that count are counted: those the system interrupted are not the task's failures.
    """
    attempt = _counted_attempts(conn, run.id)
    if attempt >= (run.max_attempts or policy.max_attempts):
        return None
    return policy.delay_before(attempt)


_q = QueueRow.__table__.c
# Checked in the same statement, so a queue paused a moment ago starts nothing even if the
# Scheduler's view of the queues is a little behind.
_queue_paused = exists().where(_q.environment_id == _r.environment_id, _q.name == _r.queue, _q.paused.is_(True))

_DEQUEUE = runs.PreparedTransition(
    S.DEQUEUED,
    where=[~_queue_paused],
    dispatch_token=bindparam("p_token"),
    version=bindparam("p_version"),
    lease_expires_at=bindparam("p_lease_until"),
)


def dequeue(conn: Connection, run_ids: list[str], *, token: str, version: str | None, lease: float) -> list[str]:
    until = utcnow() + timedelta(seconds=lease)
    return _DEQUEUE.run_many(conn, run_ids, token=token, version=version, lease_until=until)


@dataclass(frozen=True)
class AttemptStart:
    run: Any
    attempt: int


def _same_attempt(moved: FromClause) -> Any:
    """The attempt whose number is the moved run's attempt_count."""
    return tuple_(_a.run_id, _a.number).in_(select(moved.c.id, moved.c.attempt_count))


def _reopen_attempt(moved: FromClause) -> Any:
    """A run resuming after a wait carries on in the attempt that was waiting."""
    return update(runs.attempts_table).where(_same_attempt(moved), _a.status == "WAITING").values(status="EXECUTING")


def _open_attempt(moved: FromClause) -> Any:
    """Otherwise the run's next attempt (its number is the run's new attempt_count)."""
    values = select(
        bindparam("p_attempt_id", type_=String), moved.c.id, moved.c.attempt_count, literal("EXECUTING"), bindparam("p_now", type_=_When)
    ).where(~exists().where(_same_attempt(moved)))
    return runs.attempts_table.insert().from_select(["id", "run_id", "number", "status", "created_at"], values)


# Whether the run is resuming: its current attempt is the one that waited (then the count stays).
_resuming = exists().where(_a.run_id == _r.id, _a.number == _r.attempt_count, _a.status == "WAITING")

_BEGIN = runs.PreparedTransition(
    S.EXECUTING,
    where=[_r.dispatch_token == bindparam("p_token")],
    returning=list(runs.runs_table.c),
    follow=[_reopen_attempt, _open_attempt],
    attempt_count=_r.attempt_count + case((_resuming, 0), else_=1),
    started_at=func.coalesce(_r.started_at, bindparam("p_now")),
    lease_expires_at=bindparam("p_lease_until"),
)


def begin_attempt(conn: Connection, run_id: str, token: str, lease: float) -> AttemptStart | None:
    """DEQUEUED → EXECUTING for the dispatch holding `token`: the next attempt, or the waiting one resumed."""
    until = utcnow() + timedelta(seconds=lease)
    row = _BEGIN.run(conn, run_id, token=token, lease_until=until, attempt_id=attempt_id())
    return None if row is None else AttemptStart(row, row.attempt_count)


def heartbeat(conn: Connection, run_id: str, token: str, lease: float) -> bool:
    result = conn.execute(
        update(runs.runs_table)
        .where(_r.id == run_id, _r.dispatch_token == token, _r.status.in_([s.value for s in ACTIVE]))
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease))
    )
    return result.rowcount == 1


_CLOSE_ATTEMPT = (
    update(runs.attempts_table)
    .where(_a.run_id == bindparam("p_run_id"), _a.number == bindparam("p_number"), _a.status.in_(["EXECUTING", "WAITING"]))
    .values(status=bindparam("p_status"), error=bindparam("p_error"), completed_at=bindparam("p_now"))
)


def _close_attempt(conn: Connection, run_id: str, number: int, status: str, error: dict[str, Any] | None) -> None:
    conn.execute(_CLOSE_ATTEMPT, {"p_run_id": run_id, "p_number": number, "p_status": status, "p_error": error, "p_now": utcnow()})


def _complete_attempt(moved: FromClause) -> Any:
    return (
        update(runs.attempts_table)
        .where(_a.run_id.in_(select(moved.c.id)), _a.number == bindparam("p_attempt"), _a.status == "EXECUTING")
        .values(status="COMPLETED", error=None, completed_at=bindparam("p_now"))
    )


_SUCCEED = runs.PreparedTransition(
    S.COMPLETED,
    where=[_r.attempt_count == bindparam("p_attempt"), _r.dispatch_token == bindparam("p_token")],
    follow=[_complete_attempt],
    output=bindparam("p_output"),
    error=None,
)


def succeed(conn: Connection, run_id: str, attempt: int, token: str, output: Any) -> bool:
    return _SUCCEED.run(conn, run_id, attempt=attempt, token=token, output=output) is not None


def fail(
    conn: Connection,
    run_id: str,
    attempt: int,
    token: str | None,
    error: dict[str, Any],
    delay: float | None,
    *,
    final_status: RunStatus = S.FAILED,
    attempt_status: str = "FAILED",
) -> RunStatus | None:
    """End an attempt that failed: queue a retry after `delay`, or end the run with `final_status`."""
    guard = [_r.attempt_count == attempt]
    if token is not None:
        guard.append(_r.dispatch_token == token)
    now = utcnow()
    if delay is not None:
        moved = runs.transition(
            conn,
            run_id,
            S.QUEUED,
            where=guard,
            error=error,
            queued_at=now,
            available_at=now + timedelta(seconds=delay),
            dequeue_rank=(now + timedelta(seconds=delay)).timestamp() - _r.priority,
            lease_expires_at=None,
            dispatch_token=None,
        )
        outcome = S.QUEUED
    else:
        moved = runs.transition(conn, run_id, final_status, where=guard, error=error, dispatch_token=None)
        outcome = final_status
    if not moved:
        return None
    _close_attempt(conn, run_id, attempt, attempt_status, error)
    return outcome


def cancel(conn: Connection, environment_id: str, run_id: str) -> tuple[str, bool]:
    """Cancel the run; return (status before, whether it was executing and must be stopped)."""
    row = runs.get(conn, environment_id, run_id)
    moved = runs.transition(conn, run_id, S.CANCELED, error=error_record("Run was canceled", "CanceledError"))
    if moved and row.attempt_count:
        _close_attempt(conn, run_id, row.attempt_count, "CANCELED", None)
    return row.status, bool(moved) and row.status in (S.DEQUEUED, S.EXECUTING)


def cancel_descendants(conn: Connection, run_id: str) -> list[str]:
    """Cancel every unfinished run below this one (children, their children...); return those that
    were executing, to be stopped."""
    active: list[str] = []
    parents = [run_id]
    while parents:
        children = list(conn.execute(select(_r.id, _r.status, _r.attempt_count).where(_r.parent_run_id.in_(parents))))
        for child in children:
            if child.status in TERMINAL:
                continue
            if runs.transition(conn, child.id, S.CANCELED, error=error_record(f"Its parent run {run_id} was canceled", "CanceledError")):
                if child.attempt_count:
                    _close_attempt(conn, child.id, child.attempt_count, "CANCELED", None)
                if child.status in (S.DEQUEUED, S.EXECUTING):
                    active.append(child.id)
        parents = [child.id for child in children]
    return active


def promote_delayed(conn: Connection, now: datetime) -> list[str]:
    due = [r[0] for r in conn.execute(select(_r.id).where(_r.status == S.DELAYED, _r.delay_until <= now))]
    return runs.transition(conn, due, S.QUEUED, where=[_r.delay_until <= now])


def expire(conn: Connection, now: datetime) -> list[str]:
    """Runs whose TTL passed before they started."""
    due = [
        r[0]
        for r in conn.execute(
            select(_r.id).where(_r.status.in_([S.QUEUED, S.DELAYED]), _r.expires_at <= now, _r.attempt_count == 0)
        )
    ]
    return runs.transition(conn, due, S.EXPIRED, where=[_r.expires_at <= now, _r.attempt_count == 0], expired_at=now)


def lost_runs(conn: Connection, now: datetime) -> list[str]:
    """Ids of DEQUEUED or EXECUTING runs whose lease ran out: their actor is gone."""
    rows = conn.execute(select(_r.id).where(_r.status.in_([s.value for s in ACTIVE]), _r.lease_expires_at < now))
    return [row.id for row in rows]


def requeue_undispatched(conn: Connection, run_id: str, token: str) -> bool:
    """A DEQUEUED run whose actor never began it goes back to the queue without using an attempt."""
    return bool(
        runs.transition(conn, run_id, S.QUEUED, where=[_r.dispatch_token == token, _r.status == S.DEQUEUED], dispatch_token=None, lease_expires_at=None)
    )


def _counted_attempts(conn: Connection, run_id: str) -> int:
    return int(
        conn.execute(
            select(func.count()).where(_a.run_id == run_id, _a.status != "INTERRUPTED")
        ).scalar_one()
    )


def interrupt(conn: Connection, run_id: str, attempt: int, token: str | None, reason: str) -> bool:
    """Put back a run whose attempt the system cut short (its Scheduler restarted): no attempt is used up."""
    outcome = fail(
        conn,
        run_id,
        attempt,
        token,
        error_record(reason, "InterruptedError"),
        0.0,
        attempt_status="INTERRUPTED",
    )
    return outcome is not None
