"""Helpers for the JSON that crosses the wire: camelCase names, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic.alias_generators import to_camel


def camel(name: str) -> str:
    return to_camel(name)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
