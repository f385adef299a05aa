"""Helpers for the JSON that crosses the wire: camelCase names, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import overload

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


def camel(name: str) -> str:
    return to_camel(name)


class WireModel(BaseModel):
    """JSON that crosses the wire: camelCase names out, either spelling in, unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


# How far `tether.testing`'s virtual clock is ahead of the real one; zero everywhere else.
_clock_offset = timedelta(0)


def utcnow() -> datetime:
    """Now, in UTC: the one clock the engine reads (so a test can move it)."""
    return datetime.now(UTC) + _clock_offset


@overload
def as_utc(value: datetime) -> datetime: ...


@overload
def as_utc(value: datetime | None) -> datetime | None: ...


def as_utc(value: datetime | None) -> datetime | None:
    """A timestamp with its zone: naive ones (SQLite returns them so, users may pass them) are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
