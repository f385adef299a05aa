"""The run list's query string, Trigger.dev-style (`filter[status]=A,B&page[size]=25`), checked and parsed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tether._wire import as_utc, utcnow
from tether.durations import parse_duration
from tether.errors import ValidationError
from tether.runtime.states import RunStatus

_STATUSES = {s.value for s in RunStatus}
# Filters Trigger.dev's API knows that mean nothing here; refusing them beats returning an unfiltered list.
_UNSUPPORTED_FILTERS = {"filter[region]", "filter[bulkAction]"}


def _csv(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [v for v in str(value).split(",") if v]


def _instant(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name}: expected epoch milliseconds or an ISO 8601 date, got {text!r}") from None
    return as_utc(parsed)


def parse_list_params(params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `runs.list_page`; a 422 naming the parameter when one cannot be read."""
    unsupported = sorted(_UNSUPPORTED_FILTERS & {k for k, v in params.items() if v})
    if unsupported:
        raise ValidationError(f"{', '.join(unsupported)}: not supported by this server")
    statuses = _csv(params.get("filter[status]"))
    unknown = [s for s in statuses or [] if s not in _STATUSES]
    if unknown:
        raise ValidationError(f"filter[status]: unknown status {', '.join(unknown)}; use one of {', '.join(sorted(_STATUSES))}")
    size_text = params.get("page[size]") or 25
    try:
        size = int(size_text)
    except (TypeError, ValueError):
        raise ValidationError(f"page[size] must be an integer, got {size_text!r}") from None
    if not 1 <= size <= 100:
        raise ValidationError(f"page[size] must be between 1 and 100, got {size}")
    created_from = _instant(params.get("filter[createdAt][from]"), "filter[createdAt][from]")
    period = params.get("filter[createdAt][period]")
    if period:
        created_from = utcnow() - timedelta(seconds=parse_duration(period, field="filter[createdAt][period]"))
    return {
        "statuses": statuses,
        "task_identifiers": _csv(params.get("filter[taskIdentifier]")),
        "tags": _csv(params.get("filter[tag]")),
        "queues": _csv(params.get("filter[queue]")),
        "versions": _csv(params.get("filter[version]")),
        "machines": _csv(params.get("filter[machine]")),
        "only_tests": str(params.get("filter[isTest]", "")).lower() == "true",
        "batch_id": params.get("filter[batch]") or None,
        "schedule_id": params.get("filter[schedule]") or params.get("schedule") or None,
        "created_from": created_from,
        "created_to": _instant(params.get("filter[createdAt][to]"), "filter[createdAt][to]"),
        "limit": size,
        "after": params.get("page[after]") or None,
        "before": params.get("page[before]") or None,
    }
