"""Durations as users write them: "30s", "10m", "2h", "1d", "1h30m", seconds, or a timedelta."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from tether._wire import as_utc, utcnow
from tether.errors import ValidationError

Duration = str | int | float | timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: Duration, *, field: str = "duration") -> float:
    """Return the duration in seconds; raise ValidationError naming `field` when it cannot be read."""
    if isinstance(value, bool):
        raise ValidationError(f"{field}: expected a duration like '30s', '10m', '2h', '1d' or seconds, got {value!r}")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.startswith("-") and _PART.sub("", text[1:]) == "":
            raise ValidationError(f"{field}: must not be negative, got {value!r}")
        if not text or _PART.sub("", text) != "":
            raise ValidationError(
                f"{field}: cannot read {value!r} as a duration; use forms like '30s', '10m', '2h', '1d' or '1h30m'"
            )
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
    else:
        raise ValidationError(f"{field}: expected a duration like '30s' or seconds, got {type(value).__name__}")
    if not math.isfinite(seconds):
        raise ValidationError(f"{field}: must be a finite number of seconds, got {value!r}")
    if seconds < 0:
        raise ValidationError(f"{field}: must not be negative, got {value!r}")
    return seconds


def resolve_instant(value: Duration | datetime, *, field: str, now: datetime | None = None) -> datetime:
    """A delay given as a duration from now, or as an absolute datetime (naive means UTC)."""
    now = now or utcnow()
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return as_utc(parsed)
    try:
        return now + timedelta(seconds=parse_duration(value, field=field))
    except OverflowError:  # "99999999d" parses, but lands past datetime.max
        raise ValidationError(f"{field}: {value!r} is too far in the future") from None
