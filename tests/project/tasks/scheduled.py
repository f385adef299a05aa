"""Scheduled tasks: one declared in code (it fires only on February 29th, so never during a test
session), one that schedules are attached to at run time."""

from __future__ import annotations

from typing import Any

from tether import schedules
from tether.schedules import ScheduledPayload


@schedules.task(id="leap-day-report", cron={"pattern": "0 3 29 2 *", "timezone": "Europe/Berlin"})
def leap_day_report(payload: ScheduledPayload) -> str:
    return payload.timestamp.isoformat()


@schedules.task(id="tenant-sync")
def tenant_sync(payload: ScheduledPayload) -> dict[str, Any]:
    return payload.model_dump(mode="json", by_alias=True)
