"""Cron expressions and timezones: checking them, and the instants they name.

croniter does the calendar arithmetic (DST included: in a timezone, an instant the wall clock
skips fires at the first minute after the gap, and one it shows twice fires twice). This module
adds what a user needs around it: a 422 that names the field at fault, Trigger.dev's `5L` for
"the last Friday", a plain-English description, and caching, because a thousand schedules
sharing one instant would otherwise each pay for the same calendar walk.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache

from cron_descriptor import get_description
from croniter import CroniterBadDateError, croniter

from tether.errors import ValidationError

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
UPCOMING = 5  # instants a scheduled run is told about, after its own
_LAST_WEEKDAY = re.compile(r"^([0-7])L$", re.IGNORECASE)  # Trigger.dev's "5L"; croniter spells it "L5"
# croniter's own extensions, random (R) and hashed (H) values, change with every reading of the
# expression: a schedule built on them would have no fixed instants, so they are refused.
_RANDOM_OR_HASHED = re.compile(r"(^|[,/-])[RH](\(|$|[,/-])", re.IGNORECASE)


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """Every IANA timezone this machine knows, sorted, with UTC first."""
    names = sorted(zoneinfo.available_timezones() - {"UTC"})
    return ("UTC", *names)


def check_timezone(name: str | None, field: str = "timezone") -> str:
    """The timezone to use: the name itself when it is an IANA name, UTC when none is given."""
    if name is None or name == "":
        return "UTC"
    if name not in _known_timezones():
        raise ValidationError(f"{field}: {name!r} is not an IANA timezone (like 'America/New_York'); GET /api/v1/timezones lists them")
    return name


@lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    return frozenset(timezones())


def check(expression: str, field: str = "cron") -> str:
    """The expression, trimmed, when it is a valid cron; else a ValidationError naming the field that is wrong."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValidationError(f"{field}: a cron expression is required, like '0 9 * * *'")
    parts = expression.split()
    if len(parts) != len(FIELDS):
        raise ValidationError(
            f"{field}: {expression!r} has {len(parts)} fields; a cron expression has five: {' '.join(FIELDS)} (no seconds)"
        )
    for index, part in enumerate(parts):
        if _RANDOM_OR_HASHED.search(part):
            raise ValidationError(f"{field}: the {FIELDS[index]} field {part!r} of {expression!r} is not valid: R and H are not cron")
    parts[4] = _croniter_weekday(parts[4])
    normalized = " ".join(parts)
    if not croniter.is_valid(normalized):
        for index, part in enumerate(parts):  # which field? each one alone, the others "*"
            alone = ["*"] * len(FIELDS)
            alone[index] = part
            if not croniter.is_valid(" ".join(alone)):
                raise ValidationError(f"{field}: the {FIELDS[index]} field {part!r} of {expression!r} is not valid")
        raise ValidationError(f"{field}: {expression!r} is not a valid cron expression")
    try:
        _after(normalized, "UTC", datetime(2000, 1, 1, tzinfo=UTC).isoformat(), 1)
    except CroniterBadDateError:
        raise ValidationError(f"{field}: {expression!r} names no date that exists (like February 30th), so it would never fire") from None
    return " ".join(expression.split())


def _croniter_weekday(part: str) -> str:
    weekday = _LAST_WEEKDAY.match(part)
    return f"L{weekday.group(1)}" if weekday else part


@lru_cache(maxsize=1024)
def _croniter_form(expression: str) -> str:
    parts = expression.split()
    parts[4] = _croniter_weekday(parts[4])
    return " ".join(parts)


@lru_cache(maxsize=1024)
def describe(expression: str) -> str:
    """Plain English for the API's `generator.description`: "At 09:00 AM, Monday through Friday"."""
    try:
        return str(get_description(expression))
    except Exception:  # a description is a nicety: never fail a schedule over it
        return expression


def instants_after(expression: str, timezone: str, moment: datetime, count: int) -> list[datetime]:
    """The next `count` instants strictly after `moment`, in UTC."""
    return list(_after(expression, timezone, moment.astimezone(UTC).isoformat(), count))


def latest_at_or_before(expression: str, timezone: str, moment: datetime) -> datetime:
    """The most recent instant no later than `moment` (the one to fire after downtime), in UTC."""
    return _latest(expression, timezone, moment.astimezone(UTC).isoformat())


@lru_cache(maxsize=1024)  # the schedules fired together share `moment`, and mostly their expression
def _latest(expression: str, timezone: str, moment_iso: str) -> datetime:
    expression = _croniter_form(expression)
    moment = datetime.fromisoformat(moment_iso)
    previous = croniter(expression, moment.astimezone(zoneinfo.ZoneInfo(timezone))).get_prev(datetime)
    following = croniter(expression, previous).get_next(datetime)  # croniter's get_prev is strictly before
    # Compared in UTC: two wall times in one zone compare by their faces, so the two 01:30s of a
    # fall-back night would look equal.
    following, previous = following.astimezone(UTC), previous.astimezone(UTC)
    return following if following <= moment else previous


@lru_cache(maxsize=4096)
def _after(expression: str, timezone: str, moment_iso: str, count: int) -> tuple[datetime, ...]:
    zone = zoneinfo.ZoneInfo(timezone)
    walker = croniter(_croniter_form(expression), datetime.fromisoformat(moment_iso).astimezone(zone))
    return tuple(walker.get_next(datetime).astimezone(UTC) for _ in range(count))
