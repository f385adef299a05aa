"""Scheduled tasks: cron schedules declared with the task, or attached per customer at run time.

    from tether import schedules

    @schedules.task(id="daily-digest", cron={"pattern": "0 9 * * *", "timezone": "America/New_York"})
    def daily_digest(payload: schedules.ScheduledPayload) -> None:
        print(payload.timestamp, payload.last_timestamp, payload.upcoming)

    @schedules.task(id="shopify-sync")
    def shopify_sync(payload: schedules.ScheduledPayload) -> None:
        sync_store(payload.external_id)

    schedules.create(task="shopify-sync", cron="*/30 * * * *", timezone="Europe/Berlin",
                     external_id="shop_42", deduplication_key="shopify-sync-shop_42")

Each instant fires one run, through the task's queue like any trigger. After downtime only
the most recent missed instant fires (once); a deactivated schedule fires nothing until it
is activated again, from its next instant on.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypedDict

from pydantic import Field

from tether import _calls
from tether._wire import WireModel
from tether.client import asend, send
from tether.errors import ConfigurationError
from tether.tasks import Task
from tether.tasks import task as define_task

ScheduleType = Literal["DECLARATIVE", "IMPERATIVE"]


class CronSpec(TypedDict, total=False):
    pattern: str
    timezone: str


class ScheduledPayload(WireModel):
    """What a scheduled run receives: the instant it was scheduled for, and the schedule's context."""

    type: ScheduleType
    timestamp: datetime  # the scheduled instant (UTC), not when the run started
    last_timestamp: datetime | None = None  # the instant this schedule fired before, None the first time
    timezone: str = "UTC"
    schedule_id: str
    external_id: str | None = None
    upcoming: list[datetime] = Field(default_factory=list)  # the next five instants


class ScheduleGenerator(WireModel):
    type: Literal["CRON"] = "CRON"
    expression: str
    description: str


class Schedule(WireModel):
    id: str
    type: ScheduleType
    task: str
    active: bool
    deduplication_key: str | None = None
    external_id: str | None = None
    generator: ScheduleGenerator
    timezone: str
    next_run: datetime | None = None
    environments: list[dict[str, Any]] = Field(default_factory=list)


class SchedulePagination(WireModel):
    current_page: int
    total_pages: int
    count: int


class SchedulePage(WireModel):
    data: list[Schedule]
    pagination: SchedulePagination


class ScheduleRequest(WireModel):
    """The body of a create (with `deduplication_key`) or an update (without) request."""

    task: str = Field(min_length=1, max_length=128)
    cron: str = Field(min_length=1, max_length=256)
    timezone: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=256)
    deduplication_key: str | None = Field(default=None, min_length=1, max_length=256)


def task(*, id: str, cron: str | CronSpec | None = None, **options: Any) -> Callable[[Callable[..., Any]], Task[ScheduledPayload, Any]]:  # noqa: A002
    """Register a scheduled task: its runs receive a `ScheduledPayload`.

    With `cron` ("0 9 * * *", or {"pattern": ..., "timezone": "Europe/Berlin"}) the schedule is
    declared here: `tether dev` creates it when it starts or reloads, updates it when the
    expression changes, and deletes it when the declaration goes. Without it, attach schedules
    at run time with `schedules.create`. Other options are `@task`'s (queue, retry, machine...).
    """
    declared = _declaration(id, cron)

    def register(fn: Callable[..., Any]) -> Task[ScheduledPayload, Any]:
        defined = define_task(id=id, **options)(fn)
        defined.scheduled = True
        defined.cron = declared
        defined.payload_type = ScheduledPayload
        return defined

    return register


def _declaration(task_id: str, cron: str | CronSpec | None) -> dict[str, str] | None:
    if cron is None:
        return None
    if isinstance(cron, str):
        return {"pattern": cron, "timezone": "UTC"}
    if isinstance(cron, dict) and isinstance(cron.get("pattern"), str) and set(cron) <= {"pattern", "timezone"}:
        return {"pattern": cron["pattern"], "timezone": cron.get("timezone") or "UTC"}
    raise ConfigurationError(f"task {task_id!r}: cron is a string like '0 9 * * *' or {{'pattern': ..., 'timezone': ...}}, got {cron!r}")


# Managing schedules at run time: `schedules.create(...)`, `list()`, `deactivate(id)`, ...


def create(
    *, task: str, cron: str, timezone: str | None = None, external_id: str | None = None, deduplication_key: str | None = None
) -> Schedule:
    """Attach a cron schedule to a scheduled task. With a `deduplication_key` seen before, the
    schedule it made is updated instead of a second one created."""
    request = ScheduleRequest(task=task, cron=cron, timezone=timezone, external_id=external_id, deduplication_key=deduplication_key)
    return Schedule.model_validate(send(_calls.create_schedule(request)))


async def acreate(
    *, task: str, cron: str, timezone: str | None = None, external_id: str | None = None, deduplication_key: str | None = None
) -> Schedule:
    request = ScheduleRequest(task=task, cron=cron, timezone=timezone, external_id=external_id, deduplication_key=deduplication_key)
    return Schedule.model_validate(await asend(_calls.create_schedule(request)))


def retrieve(schedule_id: str) -> Schedule:
    return Schedule.model_validate(send(_calls.retrieve_schedule(schedule_id)))


def list(*, task: str | None = None, page: int = 1, per_page: int = 20) -> SchedulePage:  # noqa: A001
    """One page of the environment's schedules, oldest first; `task` keeps one task's."""
    return SchedulePage.model_validate(send(_calls.list_schedules(task, page, per_page)))


def update(schedule_id: str, *, task: str, cron: str, timezone: str | None = None, external_id: str | None = None) -> Schedule:
    """Replace an imperative schedule's task, expression, timezone (UTC when None) and external id."""
    request = ScheduleRequest(task=task, cron=cron, timezone=timezone, external_id=external_id)
    return Schedule.model_validate(send(_calls.update_schedule(schedule_id, request)))


def delete(schedule_id: str) -> None:
    send(_calls.delete_schedule(schedule_id))


def activate(schedule_id: str) -> Schedule:
    """Fire again, from the next instant on (instants missed while inactive are not made up)."""
    return Schedule.model_validate(send(_calls.set_schedule_active(schedule_id, True)))


def deactivate(schedule_id: str) -> Schedule:
    return Schedule.model_validate(send(_calls.set_schedule_active(schedule_id, False)))


def timezones(*, exclude_utc: bool = False) -> builtins.list[str]:
    """Every IANA timezone name a schedule accepts."""
    return builtins.list(send(_calls.timezones(exclude_utc))["timezones"])


__all__ = [
    "CronSpec", "Schedule", "ScheduleGenerator", "SchedulePage", "ScheduleRequest", "ScheduledPayload",
    "acreate", "activate", "create", "deactivate", "delete", "list", "retrieve", "task", "timezones", "update",
]
