"""Schedules in the store: their rows, their deadlines, and firing the ones that are due.

A schedule's `next_run_at` is a persisted deadline. The Scheduler reads only the smallest one
(an indexed MIN), sleeps until then and fires what is due, so ten thousand schedules cost
nothing between their instants. Firing an instant is one transaction: the run (unique on
schedule and instant) and the schedule's move to its next instant commit together or not at
all, so an instant fires exactly once through any crash, and two Schedulers racing for it
split the due rows (row locks, SKIP LOCKED) rather than fire them twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from tether._wire import as_utc, iso
from tether.errors import ConflictError, NotFoundError
from tether.options import TriggerOptions
from tether.runtime import cron, faults, triggering
from tether.runtime.ids import new_id
from tether.runtime.store.tables import ScheduleRow

log = logging.getLogger("tether.schedules")
schedules_table = ScheduleRow.__table__
_s = schedules_table.c
DECLARATIVE, IMPERATIVE = "DECLARATIVE", "IMPERATIVE"
# The task spec a schedule's run is made with, by environment and task id (None: no such task now).
TaskLookup = Callable[[str, str], Any]
FIRE_BATCH = 250  # schedules fired per transaction: a shared instant commits in a few steps, not one long lock


def _declared_slot(environment_id: str, task_id: str) -> str:
    return f"declared\x1f{environment_id}\x1f{task_id}"


def _key_slot(environment_id: str, key: str) -> str:
    return f"key\x1f{environment_id}\x1f{key}"


def generator(expression: str) -> dict[str, str]:
    """What fires a schedule, as a schedule and its runs show it."""
    return {"type": "CRON", "expression": expression, "description": cron.describe(expression)}


def body(row: Any, environment: dict[str, str]) -> dict[str, Any]:
    """A schedule as Trigger.dev's API shows it."""
    return {
        "id": row.id,
        "type": row.type,
        "task": row.task_identifier,
        "active": bool(row.active),
        "deduplicationKey": row.deduplication_key,
        "externalId": row.external_id,
        "generator": generator(row.cron),
        "timezone": row.timezone,
        "nextRun": iso(row.next_run_at),
        "environments": [environment],
    }


def first_after(expression: str, timezone: str, moment: datetime) -> datetime:
    return cron.instants_after(expression, timezone, moment, 1)[0]


# -- reading and writing schedules ----------------------------------------------------------------------


def get(conn: Connection, environment_id: str, schedule_id: str, *, lock: bool = False) -> Any:
    """The schedule; with `lock`, held until the transaction ends, so a concurrent change cannot
    slip between this read and the write that depends on it (PostgreSQL; SQLite writers queue)."""
    query = select(schedules_table).where(_s.id == schedule_id, _s.environment_id == environment_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError(f"schedule {schedule_id!r} not found")
    return row


def upsert(
    conn: Connection,
    environment_id: str,
    *,
    task_id: str,
    expression: str,
    timezone: str,
    external_id: str | None,
    deduplication_key: str | None,
    now: datetime,
) -> tuple[Any, bool]:
    """Create an imperative schedule, or update the one its deduplication key made; (row, created)."""
    slot = _key_slot(environment_id, deduplication_key) if deduplication_key else None
    if slot is not None:
        existing = conn.execute(select(schedules_table).where(_s.slot == slot).with_for_update()).first()
        if existing is not None:
            changes = {"task_identifier": task_id, "external_id": external_id}
            return replace(conn, existing, expression=expression, timezone=timezone, now=now, **changes), False
    schedule_id = new_id("sched")
    conn.execute(
        insert(schedules_table).values(
            id=schedule_id,
            environment_id=environment_id,
            task_identifier=task_id,
            type=IMPERATIVE,
            cron=expression,
            timezone=timezone,
            external_id=external_id,
            deduplication_key=deduplication_key,
            slot=slot,
            active=True,
            next_run_at=first_after(expression, timezone, now),
            created_at=now,
            updated_at=now,
        )
    )
    return get(conn, environment_id, schedule_id), True


def replace(conn: Connection, row: Any, *, expression: str, timezone: str, now: datetime, **changes: Any) -> Any:
    """Set a schedule's expression and timezone (and other columns); a new rule starts from its next instant."""
    values: dict[str, Any] = {"cron": expression, "timezone": timezone, "updated_at": now, **changes}
    if row.active and (row.cron, row.timezone) != (expression, timezone):
        values["next_run_at"] = first_after(expression, timezone, now)
    conn.execute(update(schedules_table).where(_s.id == row.id).values(**values))
    return get(conn, row.environment_id, row.id)


def refuse_declared(row: Any, action: str) -> None:
    if row.type == DECLARATIVE:
        raise ConflictError(
            f"schedule {row.id} is declared in code (@schedules.task(id={row.task_identifier!r}, cron=...)): "
            f"to {action} it, change that declaration"
        )


def set_active(conn: Connection, row: Any, active: bool, now: datetime) -> Any:
    """Deactivating drops the deadline; activating sets it to the next instant from now."""
    if bool(row.active) != active:
        next_run = first_after(row.cron, row.timezone, now) if active else None
        conn.execute(update(schedules_table).where(_s.id == row.id).values(active=active, next_run_at=next_run, updated_at=now))
    return get(conn, row.environment_id, row.id)


def remove(conn: Connection, row: Any) -> None:
    conn.execute(delete(schedules_table).where(_s.id == row.id))


def list_page(conn: Connection, environment_id: str, task_id: str | None, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page, oldest first, and how many schedules match in all."""
    where = [_s.environment_id == environment_id]
    if task_id:
        where.append(_s.task_identifier == task_id)
    count = conn.execute(select(func.count()).select_from(schedules_table).where(*where)).scalar_one()
    rows = conn.execute(select(schedules_table).where(*where).order_by(_s.id).offset((page - 1) * per_page).limit(per_page))
    return list(rows), int(count)


def total_pages(count: int, per_page: int) -> int:
    return max(1, math.ceil(count / per_page))


def sync_declared(conn: Connection, environment_id: str, declared: dict[str, dict[str, str]], now: datetime) -> None:
    """Make the environment's declarative schedules match the code: add, change, and delete what went."""
    existing = {r.task_identifier: r for r in conn.execute(select(schedules_table).where(_s.environment_id == environment_id, _s.type == DECLARATIVE))}
    for task_id, spec in declared.items():
        row = existing.pop(task_id, None)
        if row is None:
            conn.execute(
                insert(schedules_table).values(
                    id=new_id("sched"),
                    environment_id=environment_id,
                    task_identifier=task_id,
                    type=DECLARATIVE,
                    cron=spec["pattern"],
                    timezone=spec["timezone"],
                    slot=_declared_slot(environment_id, task_id),
                    active=True,
                    next_run_at=first_after(spec["pattern"], spec["timezone"], now),
                    created_at=now,
                    updated_at=now,
                )
            )
        elif (row.cron, row.timezone) != (spec["pattern"], spec["timezone"]):
            replace(conn, row, expression=spec["pattern"], timezone=spec["timezone"], now=now)
    if existing:
        conn.execute(delete(schedules_table).where(_s.id.in_([r.id for r in existing.values()])))


# -- firing --------------------------------------------------------------------------------------------


def next_deadline(conn: Connection) -> datetime | None:
    return conn.execute(select(func.min(_s.next_run_at)).where(_s.active.is_(True))).scalar()


def fire_due(conn: Connection, now: datetime, lookup: TaskLookup, limit: int = FIRE_BATCH) -> tuple[list[str], int]:
    """Fire up to `limit` due schedules, each at its most recent instant; (new run ids, schedules handled).

    Rows another transaction holds are skipped (it is firing them); a row it advanced meanwhile
    no longer matches `next_run_at <= now` when PostgreSQL re-reads it under the lock."""
    due = list(
        conn.execute(
            select(schedules_table).where(_s.next_run_at <= now, _s.active.is_(True)).order_by(_s.next_run_at).limit(limit).with_for_update(skip_locked=True)
        )
    )
    prepared: list[triggering.PreparedRun] = []
    moves: list[dict[str, Any]] = []
    for row in due:
        try:
            instant = cron.latest_at_or_before(row.cron, row.timezone, now)
            upcoming = cron.instants_after(row.cron, row.timezone, instant, cron.UPCOMING)
        except Exception:  # e.g. a timezone this host's tz database lacks: park it rather than fail the batch
            log.exception("schedule %s has no next instant; it fires again once updated", row.id)
            moves.append({"row_id": row.id, "next": None, "last": row.last_run_at, "now": now})
            continue
        run = _run_for(row, instant, upcoming, now, lookup)
        if run is not None:
            prepared.append(run)
        # last_run_at names only instants that made a run: it is the next run's `lastTimestamp`.
        moves.append({"row_id": row.id, "next": upcoming[0], "last": instant if run is not None else row.last_run_at, "now": now})
    if prepared:
        triggering.insert_runs(conn, prepared)
    if moves:
        conn.execute(
            update(schedules_table)
            .where(_s.id == bindparam("row_id"))
            .values(next_run_at=bindparam("next"), last_run_at=bindparam("last"), updated_at=bindparam("now")),
            moves,
        )
    faults.point(faults.SCHEDULE_FIRED)
    return [run.id for run in prepared], len(due)


def _run_for(row: Any, instant: datetime, upcoming: list[datetime], now: datetime, lookup: TaskLookup) -> triggering.PreparedRun | None:
    """The run for one instant, or None when it must be skipped; never raises, so one bad
    schedule cannot hold up the others in its batch (or the Scheduler's other timers)."""
    last = row.last_run_at
    if last is not None and as_utc(last) >= instant:
        return None  # fired already (a deadline set from a clock behind this one): the unique key would refuse it
    try:
        spec = lookup(row.environment_id, row.task_identifier)
        if spec is None or not spec.scheduled:
            log.warning("schedule %s skipped %s: %r is not a scheduled task of the current version", row.id, iso(instant), row.task_identifier)
            return None
        run = triggering.prepare(row.environment_id, row.task_identifier, spec, _payload(row, instant, upcoming), TriggerOptions(), now=now)
    except Exception:
        log.exception("schedule %s skipped %s", row.id, iso(instant))
        return None
    run.values.update(schedule_id=row.id, schedule_instant=instant)
    return run


def _payload(row: Any, instant: datetime, upcoming: list[datetime]) -> dict[str, Any]:
    payload = {
        "type": row.type,
        "timestamp": iso(instant),
        "lastTimestamp": iso(row.last_run_at),
        "timezone": row.timezone,
        "scheduleId": row.id,
        "externalId": row.external_id,
        "upcoming": [iso(moment) for moment in upcoming],
    }
    return {k: v for k, v in payload.items() if v is not None}


def schedule_of_runs(conn: Connection, schedule_ids: set[str]) -> dict[str, dict[str, Any]]:
    """What a run's `schedule` field shows, for each schedule id; deleted schedules are left out."""
    if not schedule_ids:
        return {}
    rows = conn.execute(select(_s.id, _s.external_id, _s.deduplication_key, _s.cron).where(_s.id.in_(schedule_ids)))
    return {
        r.id: {
            k: v
            for k, v in {
                "id": r.id,
                "externalId": r.external_id,
                "deduplicationKey": r.deduplication_key,
                "generator": generator(r.cron),
            }.items()
            if v is not None
        }
        for r in rows
    }

