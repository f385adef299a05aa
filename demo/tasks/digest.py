"""The daily digest from the product brief: a schedule declared with the task, in New York time."""

from __future__ import annotations

from tether import logger, metadata, runs, schedules


@schedules.task(id="daily-digest", cron={"pattern": "0 9 * * *", "timezone": "America/New_York"})
def daily_digest(payload: schedules.ScheduledPayload) -> dict:
    """Every morning at 09:00 New York time: count what failed since the previous digest."""
    since = payload.last_timestamp
    failed = [r for r in runs.list(status=["FAILED", "CRASHED"], from_=since, limit=100).data] if since else []
    metadata.set("failedSince", len(failed))
    logger.info("digest for %s: %d failed runs since %s", payload.timestamp.isoformat(), len(failed), since)
    return {"for": payload.timestamp.isoformat(), "failed": len(failed), "next": payload.upcoming[0].isoformat()}
