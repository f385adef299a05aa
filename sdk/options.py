"""Trigger options and request bodies, shared by the SDK (which writes them) and the gateway (which reads them).

Field names on the wire are Trigger.dev's (camelCase), so its clients can talk to Tether.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from tether._wire import WireModel
from tether.durations import parse_duration
from tether.errors import ValidationError as TetherValidationError


def _checked_seconds(value: Any, field: str) -> float:
    # Raised as ValueError so pydantic reports the error at its location (items.5.options.delay).
    try:
        return parse_duration(value, field=field)
    except TetherValidationError as error:
        raise ValueError(error.message) from None

MAX_TAGS = 10
MAX_TAG_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 2048
MAX_BATCH_SIZE = 1000
DEFAULT_IDEMPOTENCY_TTL = 30 * 86400.0

WireDuration = str | float | int


def checked_tags(value: list[str] | str | None, what: str = "run") -> list[str] | None:
    if value is None:
        return None
    tags = list(dict.fromkeys([value] if isinstance(value, str) else value))  # a repeated tag counts once
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags per {what}, got {len(tags)}")
    for tag in tags:
        if not 1 <= len(tag) <= MAX_TAG_LENGTH:
            raise ValueError(f"each tag must be 1-{MAX_TAG_LENGTH} characters, got {len(tag)}: {tag[:40]!r}")
    return tags


class CreateTokenRequest(WireModel):
    """`POST /api/v1/waitpoints/tokens`; every field optional. `timeout` is a duration ("7d") or a date."""

    timeout: WireDuration | datetime | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH)
    idempotency_key_ttl: WireDuration | None = Field(default=None, alias="idempotencyKeyTTL")
    tags: list[str] | str | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | str | None) -> list[str] | None:
        return checked_tags(value, "token")


class QueueOption(WireModel):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-/]+$")
    concurrency_limit: int | None = Field(default=None, ge=0, le=100_000)


class TriggerOptions(WireModel):
    """What a caller may set on one run. Durations are strings ("30s") or seconds."""

    idempotency_key: str | None = Field(default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH)
    idempotency_key_ttl: WireDuration | None = Field(default=None, alias="idempotencyKeyTTL")
    concurrency_key: str | None = Field(default=None, min_length=1, max_length=256)
    queue: QueueOption | None = None
    delay: WireDuration | datetime | None = None
    ttl: WireDuration | None = None
    tags: list[str] | str | None = None
    priority: float | None = Field(default=None, ge=0, le=30 * 86400)
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    max_duration: float | None = Field(default=None, gt=0, le=30 * 86400)
    machine: str | None = None
    metadata: dict[str, Any] | None = None
    lock_to_version: str | None = None
    payload_type: str | None = Field(default=None, max_length=64)

    @field_validator("idempotency_key_ttl", "ttl")
    @classmethod
    def _duration(cls, value: WireDuration | None, info: Any) -> WireDuration | None:
        if value is not None:
            seconds = _checked_seconds(value, info.field_name)
            if info.field_name == "ttl" and seconds <= 0:
                raise ValueError("ttl must be positive")
        return value

    @field_validator("delay")
    @classmethod
    def _delay(cls, value: WireDuration | datetime | None) -> WireDuration | datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
        _checked_seconds(value, "delay")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | str | None) -> list[str] | None:
        return checked_tags(value)

    def idempotency_ttl_seconds(self) -> float:
        if self.idempotency_key_ttl is None:
            return DEFAULT_IDEMPOTENCY_TTL
        return parse_duration(self.idempotency_key_ttl, field="idempotencyKeyTTL")

    def ttl_seconds(self) -> float | None:
        return None if self.ttl is None else parse_duration(self.ttl, field="ttl")


class TriggerRequest(WireModel):
    payload: Any = None
    options: TriggerOptions = Field(default_factory=TriggerOptions)


class BatchItem(WireModel):
    task: str = Field(min_length=1, max_length=128)
    payload: Any = None
    options: TriggerOptions = Field(default_factory=TriggerOptions)


class BatchTriggerRequest(WireModel):
    items: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH_SIZE)


def build_options(
    *,
    idempotency_key: str | None = None,
    idempotency_key_ttl: str | float | timedelta | None = None,
    concurrency_key: str | None = None,
    queue: Any = None,
    delay: str | float | timedelta | datetime | None = None,
    ttl: str | float | timedelta | None = None,
    tags: list[str] | str | None = None,
    priority: float | None = None,
    max_attempts: int | None = None,
    max_duration: float | None = None,
    machine: Any = None,
    metadata: dict[str, Any] | None = None,
) -> TriggerOptions:
    """Turn the SDK's keyword options into the wire model, validating them before any request is made."""
    queue_option: QueueOption | None
    if queue is None:
        queue_option = None
    elif isinstance(queue, str):
        queue_option = QueueOption(name=queue)
    else:
        queue_option = QueueOption(name=queue.name, concurrency_limit=queue.concurrency_limit)
    return TriggerOptions(
        idempotency_key=idempotency_key,
        idempotency_key_ttl=_seconds(idempotency_key_ttl),
        concurrency_key=concurrency_key,
        queue=queue_option,
        delay=_seconds(delay) if not isinstance(delay, datetime) else delay,
        ttl=_seconds(ttl),
        tags=tags,
        priority=priority,
        max_attempts=max_attempts,
        max_duration=max_duration,
        machine=getattr(machine, "name", machine),
        metadata=metadata,
    )


def _seconds(value: Any) -> Any:
    return value.total_seconds() if isinstance(value, timedelta) else value
