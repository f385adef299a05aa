"""Run metadata: a JSON object per run that its task (or its children, or anyone with the key)
updates while it runs, for progress bars and status lines; realtime subscribers see each change.

Updates travel as operations, applied in one transaction with the run's row locked, so a parent's
counter incremented by a hundred children at once ends at a hundred:

    {"type": "set", "key": "progress", "value": 0.5}      {"type": "delete", "key": "stage"}
    {"type": "append", "key": "log", "value": "fetched"}  {"type": "remove", "key": "log", "value": "fetched"}
    {"type": "increment", "key": "done", "value": 1}      {"type": "replace", "value": {...}}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from tether.errors import NotFoundError, ValidationError
from tether.runtime import events, runs

MAX_BYTES = 256 * 1024
TYPES = ("set", "delete", "append", "remove", "increment", "replace")
_r = runs.runs_table.c


def _key(op: dict[str, Any]) -> str:
    key = op.get("key")
    if not isinstance(key, str) or not key:
        raise ValidationError(f"metadata operation {op.get('type')!r} needs a non-empty string 'key', got {key!r}")
    return key


def apply(current: dict[str, Any] | None, operations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`current` after `operations` (a new dict); ValidationError naming the first bad operation."""
    data = dict(current or {})
    for op in operations:
        kind = op.get("type") if isinstance(op, dict) else None
        if kind not in TYPES:
            raise ValidationError(f"metadata operation type must be one of {', '.join(TYPES)}; got {op!r}")
        if kind == "replace":
            if not isinstance(op.get("value"), dict):
                raise ValidationError("metadata 'replace' needs a JSON object as 'value'")
            data = dict(op["value"])
        elif kind == "set":
            data[_key(op)] = op.get("value")
        elif kind == "delete":
            data.pop(_key(op), None)
        elif kind == "append":
            key = _key(op)
            existing = data.get(key)
            data[key] = (existing if isinstance(existing, list) else ([] if existing is None else [existing])) + [op.get("value")]
        elif kind == "remove":
            key = _key(op)
            if isinstance(data.get(key), list):
                data[key] = [item for item in data[key] if item != op.get("value")]
        else:  # increment
            key, by = _key(op), op.get("value", 1)
            if not isinstance(by, int | float) or isinstance(by, bool):
                raise ValidationError(f"metadata 'increment' of {key!r} needs a number as 'value', got {by!r}")
            existing = data.get(key, 0)
            if not isinstance(existing, int | float) or isinstance(existing, bool):
                raise ValidationError(f"metadata {key!r} is {existing!r}, not a number: it cannot be incremented")
            data[key] = existing + by
    return data


def encoded_size(data: dict[str, Any]) -> int:
    try:
        return len(json.dumps(data, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"run metadata must be JSON (objects, lists, strings, finite numbers, booleans, null): {exc}") from None


def check_size(run_id: str, data: dict[str, Any]) -> None:
    size = encoded_size(data)
    if size > MAX_BYTES:
        raise ValidationError(f"run {run_id}'s metadata would be {size:,} bytes; the limit is {MAX_BYTES:,} (256 KB). Store large values elsewhere and keep their ids here")


def apply_to_run(conn: Connection, environment_id: str | None, run_id: str, operations: Sequence[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Apply `operations` to the run's metadata, its row locked; returns the run's status and the new
    metadata. The caller records the change event (after its other locks: see actors/outbox.py)."""
    query = select(_r.metadata, _r.status).where(_r.id == run_id).with_for_update()
    if environment_id is not None:
        query = query.where(_r.environment_id == environment_id)
    row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"run {run_id!r} not found")
    data = apply(row.metadata, operations)
    check_size(run_id, data)
    conn.execute(update(runs.runs_table).where(_r.id == run_id).values(metadata=data))
    return str(row.status), data


def update_run(conn: Connection, environment_id: str | None, run_id: str, operations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Apply `operations` to the run's metadata, record the change event, and return the result."""
    status, data = apply_to_run(conn, environment_id, run_id, operations)
    events.append(conn, [run_id], status)
    events.notify(conn)
    return data
