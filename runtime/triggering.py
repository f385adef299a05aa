"""Creating runs: validate everything first, then write each run (with its idempotency key) in one transaction.

Nothing is written when any part of a request is refused, and nobody is notified until the
transaction commits (the caller notifies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from tether._payload import check_payload_size, validate_payload
from tether._wire import as_utc, utcnow
from tether.durations import parse_duration, resolve_instant
from tether.errors import NotFoundError, ValidationError
from tether.machines import PRESETS
from tether.options import TriggerOptions
from tether.runtime import events
from tether.runtime import queues as queue_store
from tether.runtime.catalog import TaskSpec
from tether.runtime.ids import run_id
from tether.runtime.payloads import decode_payload
from tether.runtime.states import UNSUCCESSFUL, RunStatus
from tether.runtime.store.tables import RunRow, RunTag
from tether.tasks import registered_tasks

_runs = RunRow.__table__
_tags = RunTag.__table__


@dataclass(frozen=True)
class Lineage:
    parent_run_id: str | None = None
    root_run_id: str | None = None
    depth: int = 0
    trigger_function: str = "trigger"


@dataclass
class PreparedRun:
    values: dict[str, Any]
    queue_limit: int | None = None
    declare_queue: bool = False
    tags: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.values["id"])


@dataclass(frozen=True)
class Created:
    id: str
    task_identifier: str
    is_cached: bool


def prepare(
    environment_id: str,
    task_id: str,
    spec: TaskSpec | None,
    payload: Any,
    options: TriggerOptions,
    *,
    payload_type: str | None = None,
    batch_id: str | None = None,
    lineage: Lineage = Lineage(),
    now: datetime | None = None,
) -> PreparedRun:
    """Check one trigger and build its row; raises a 4xx error naming what to fix."""
    if spec is None:
        raise NotFoundError(f"task {task_id!r} not found: is it defined in one of the project's task dirs?")
    now = now or utcnow()
    value = decode_payload(payload, payload_type)
    check_payload_size(value)
    local = registered_tasks().get(task_id)
    if local is not None:
        validate_payload(local.payload_type, value)
    if options.machine is not None and options.machine not in PRESETS:
        raise ValidationError(f"machine: unknown preset {options.machine!r}; choose one of {', '.join(PRESETS)}")

    delay_until = resolve_instant(options.delay, field="delay", now=now) if options.delay is not None else None
    if delay_until is not None and delay_until <= now:
        delay_until = None
    start = delay_until or now
    ttl = options.ttl_seconds()
    key = options.idempotency_key
    queue = options.queue.name if options.queue else spec.queue
    values: dict[str, Any] = {
        "id": run_id(),
        "environment_id": environment_id,
        "task_identifier": task_id,
        "status": RunStatus.DELAYED if delay_until else RunStatus.QUEUED,
        "payload": value,
        "metadata": options.metadata,
        "tags": options.tags or [],
        "options": options.model_dump(mode="json", by_alias=True, exclude_none=True),
        "queue": queue,
        "concurrency_key": options.concurrency_key or "",
        "priority": options.priority or 0.0,
        "dequeue_rank": start.timestamp() - (options.priority or 0.0),
        "machine": options.machine or spec.machine.get("name", "small-1x"),
        "max_attempts": options.max_attempts,
        "max_duration": options.max_duration,
        "lock_to_version": options.lock_to_version,
        "attempt_count": 0,
        "idempotency_key": key,
        "idempotency_slot": _slot(environment_id, task_id, key) if key else None,
        "idempotency_expires_at": now + timedelta(seconds=options.idempotency_ttl_seconds()) if key else None,
        "created_at": now,
        "updated_at": now,
        "queued_at": start,
        "available_at": start,
        "delay_until": delay_until,
        "ttl": _ttl_text(options.ttl) if ttl is not None else None,
        "expires_at": start + timedelta(seconds=ttl) if ttl is not None else None,
        "batch_id": batch_id,
        "parent_run_id": lineage.parent_run_id,
        "root_run_id": lineage.root_run_id,
        "depth": lineage.depth,
        "trigger_function": lineage.trigger_function,
    }
    custom_limit = options.queue.concurrency_limit if options.queue else None
    return PreparedRun(values, custom_limit, declare_queue=options.queue is not None, tags=list(options.tags or []))


def _slot(environment_id: str, task_id: str, key: str) -> str:
    return f"{environment_id}\x1f{task_id}\x1f{key}"


def _ttl_text(ttl: Any) -> str:
    return ttl if isinstance(ttl, str) else f"{int(parse_duration(ttl, field='ttl'))}s"


def insert_runs(conn: Connection, prepared: list[PreparedRun]) -> list[Created]:
    """Write the runs; a live idempotency key returns its existing run instead (is_cached)."""
    now = utcnow()
    created: list[Created] = []
    fresh: list[PreparedRun] = []
    for run in prepared:
        slot = run.values["idempotency_slot"]
        if slot is not None:
            existing = conn.execute(
                select(_runs.c.id, _runs.c.status, _runs.c.idempotency_expires_at).where(_runs.c.idempotency_slot == slot)
            ).first()
            if existing is not None:
                expires = as_utc(existing.idempotency_expires_at)
                if existing.status not in UNSUCCESSFUL and (expires is None or expires > now):
                    created.append(Created(existing.id, run.values["task_identifier"], True))
                    continue
                conn.execute(update(_runs).where(_runs.c.id == existing.id).values(idempotency_slot=None))
            if any(f.values["idempotency_slot"] == slot for f in fresh):
                twin = next(f for f in fresh if f.values["idempotency_slot"] == slot)
                created.append(Created(twin.id, twin.values["task_identifier"], True))
                continue
        fresh.append(run)
        created.append(Created(run.id, run.values["task_identifier"], False))
    if not fresh:
        return created
    for run in fresh:
        if run.declare_queue:
            queue_store.declare(
                conn,
                run.values["environment_id"],
                run.values["queue"],
                run.queue_limit,
                kind="custom",
                update_limit=run.queue_limit is not None,
            )
    conn.execute(insert(_runs), [run.values for run in fresh])
    tag_rows = [{"run_id": run.id, "tag": tag} for run in fresh for tag in run.tags]
    if tag_rows:
        conn.execute(insert(_tags), tag_rows)
    for status in (RunStatus.QUEUED, RunStatus.DELAYED):
        events.append(conn, [r.id for r in fresh if r.values["status"] == status], status)
    return created
