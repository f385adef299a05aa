"""A scheduled task that does nothing, so what the schedules benchmark measures is Tether's own overhead."""

from __future__ import annotations

from tether import schedules


@schedules.task(id="scheduled-noop")
def scheduled_noop(payload: schedules.ScheduledPayload) -> None:
    return None
