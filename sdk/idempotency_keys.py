"""Idempotency keys scoped to the run that makes them, so a retried run does not act twice.

    from tether import idempotency_keys

    @task(id="checkout")
    def checkout(payload: dict) -> None:
        key = idempotency_keys.create("charge")          # the same on every attempt of this run
        charge_card.trigger(payload, idempotency_key=key)

Scopes: "run" (default: the same across this run's attempts), "attempt" (new on each attempt),
"global" (the same everywhere: only the key itself). Outside a run every scope is global.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from tether.context import current_run
from tether.errors import ValidationError

Scope = Literal["run", "attempt", "global"]


def create(key: str | list[str], *, scope: Scope = "run") -> str:
    """A key (a hex digest) made of `key` and, per `scope`, the current run and attempt."""
    parts = [key] if isinstance(key, str) else list(key) if isinstance(key, list | tuple) else []
    if not parts or not all(isinstance(p, str) and p for p in parts):
        raise ValidationError(f"an idempotency key is a non-empty string or list of strings, got {key!r}")
    if scope not in ("run", "attempt", "global"):
        raise ValidationError(f"scope must be 'run', 'attempt' or 'global', got {scope!r}")
    ctx = current_run()
    if ctx is not None and scope == "run":
        parts = [ctx.run_id, *parts]
    elif ctx is not None and scope == "attempt":
        parts = [ctx.run_id, str(ctx.attempt), *parts]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
