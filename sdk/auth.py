"""Public access tokens, made with the secret key on your backend and handed to a browser.

    from tether import auth

    token = auth.create_public_token(scopes={"read": {"runs": [run_id]}}, expiration="1h")
    token = auth.create_public_token(scopes={"read": {"tags": ["user:42"]}})   # every run tagged so
    trigger = auth.create_trigger_public_token("research-agent")                # may trigger it once

A browser sends the token as `Authorization: Bearer …` (or `?token=` for EventSource, which
cannot set headers) to the realtime routes, `GET /api/v3/runs/{id}`, and, for a trigger token,
`POST /api/v1/tasks/{id}/trigger`; it may do what its scopes name and gets 403 elsewhere.
Every trigger's answer also carries one that may read the new run (`handle.public_access_token`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tether import _calls
from tether._wire import iso
from tether.client import send

Expiration = str | float | datetime | None


def _expiration(value: Expiration) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def create_public_token(*, scopes: dict[str, dict[str, Any]], expiration: Expiration = "15m") -> str:
    """A JWT granting `scopes`, e.g. {"read": {"runs": ["run_…"], "tags": [...], "batch": [...], "tasks": [...]}};
    `True` instead of a list grants every resource of that kind. `expiration`: "15m", "2h", seconds or a date."""
    return str(send(_calls.create_public_token(scopes, _expiration(expiration), False))["token"])


def create_trigger_public_token(task_id: str | list[str], *, expiration: Expiration = "15m", multiple_use: bool = False) -> str:
    """A JWT that may trigger `task_id` (once, unless `multiple_use`) and then read the run it made."""
    ids = [task_id] if isinstance(task_id, str) else list(task_id)
    return str(send(_calls.create_public_token({"write": {"tasks": ids}}, _expiration(expiration), not multiple_use))["token"])
