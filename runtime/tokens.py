"""Wait tokens: waitpoints that someone completes — an editor's approval, a webhook, another service.

A token is created (from a run or from anywhere), handed out by id or by its callback URL, and
completed once with a JSON value; the runs waiting for it (`wait.for_token`) are then queued again
and resume with that value. A token may time out, which resumes them with an error instead.
Completing a token twice keeps the first value; the second call is told so.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, exc, select, update

from tether._wire import as_utc, iso, utcnow
from tether.durations import parse_duration, resolve_instant
from tether.errors import ConflictError, NotFoundError, ValidationError
from tether.options import CreateTokenRequest
from tether.runtime import public_tokens, waits
from tether.runtime.environments import Env
from tether.runtime.store.database import Store
from tether.runtime.store.tables import Waitpoint

_waitpoints = Waitpoint.__table__
_w = _waitpoints.c
DEFAULT_KEY_TTL = timedelta(days=30)
PUBLIC_TOKEN_WITHOUT_TIMEOUT = timedelta(days=30)
STATUSES = ("WAITING", "COMPLETED", "TIMED_OUT")


def callback_path(row: Any) -> str:
    return f"/api/v1/waitpoints/tokens/{row.id}/callback/{row.callback_secret}"


def body(row: Any, base_url: str = "", is_cached: bool | None = None) -> dict[str, Any]:
    """A token as Trigger.dev's API shows it (camelCase; absent values left out)."""
    out: dict[str, Any] = {
        "id": row.id,
        "url": base_url.rstrip("/") + callback_path(row),
        "status": row.status,
        "idempotencyKey": row.idempotency_key,
        "idempotencyKeyExpiresAt": iso(row.idempotency_key_expires_at),
        "timeoutAt": iso(row.complete_after),
        "completedAt": iso(row.completed_at),
        "createdAt": iso(row.created_at),
        "tags": row.tags or [],
        "output": row.output,
        "outputIsError": bool(row.output_is_error) if row.status != "WAITING" else None,
        "isCached": is_cached,
    }
    return {k: v for k, v in out.items() if v is not None}


def public_access_token(env: Env, row: Any) -> str:
    """A JWT that may see and complete this token, and nothing else: give it to the browser or the
    person who decides. It lasts as long as the token can be completed (30 days without a timeout)."""
    until = as_utc(row.complete_after) if row.complete_after is not None else utcnow() + PUBLIC_TOKEN_WITHOUT_TIMEOUT
    return public_tokens.create(env, [f"read:waitpoints:{row.id}", f"write:waitpoints:{row.id}"], max(until, utcnow() + timedelta(minutes=1)))


def _get(conn: Connection, env: Env, token_id: str) -> Any:
    row = conn.execute(select(_waitpoints).where(_w.id == token_id, _w.environment_id == env.id, _w.kind == "MANUAL")).first()
    if row is None:
        raise NotFoundError(f"wait token {token_id!r} not found")
    return row


def create(store: Store, env: Env, request: CreateTokenRequest) -> tuple[Any, bool]:
    """The new token, or (with an idempotency key still valid) the one made before: (row, is_cached)."""
    now = utcnow()
    timeout_at = resolve_instant(request.timeout, field="timeout", now=now) if request.timeout is not None else None
    ttl = timedelta(seconds=parse_duration(request.idempotency_key_ttl, field="idempotencyKeyTTL")) if request.idempotency_key_ttl else DEFAULT_KEY_TTL
    for _ in range(3):
        try:
            with store.write() as conn:
                if request.idempotency_key:
                    same = select(_waitpoints).where(_w.environment_id == env.id, _w.idempotency_key == request.idempotency_key)
                    existing = conn.execute(same).first()
                    if existing is not None:
                        expires = as_utc(existing.idempotency_key_expires_at)
                        if expires is None or expires > now:
                            return existing, True
                        conn.execute(update(_waitpoints).where(_w.id == existing.id).values(idempotency_key=None))  # the key is free again
                token = waits.create(
                    conn,
                    env.id,
                    "MANUAL",
                    complete_after=timeout_at,
                    idempotency_key=request.idempotency_key,
                    idempotency_key_expires_at=now + ttl if request.idempotency_key else None,
                    tags=request.tags,
                    callback_secret=secrets.token_hex(16),
                )
                return _get(conn, env, token), False
        except exc.IntegrityError:
            continue  # a concurrent create took the key: read theirs
    raise ConflictError(f"could not create a token with idempotency key {request.idempotency_key!r}; retry")


def retrieve(store: Store, env: Env, token_id: str) -> Any:
    with store.read() as conn:
        return _get(conn, env, token_id)


def list_page(store: Store, env: Env, status: str | None, limit: int, after: str | None) -> list[Any]:
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    if not 1 <= limit <= 100:
        raise ValidationError(f"limit must be between 1 and 100, got {limit}")
    query = select(_waitpoints).where(_w.environment_id == env.id, _w.kind == "MANUAL")
    if status:
        query = query.where(_w.status == status)
    if after:
        query = query.where(_w.id < after)
    with store.read() as conn:
        return list(conn.execute(query.order_by(_w.id.desc()).limit(limit)))


def complete(store: Store, env: Env | None, token_id: str, data: Any, *, secret: str | None = None) -> tuple[Any, bool]:
    """Complete the token with `data`: (row, whether this call completed it). With `secret` (the
    callback URL) no environment is needed; a wrong secret is a 404, as if the token did not exist."""
    with store.write() as conn:
        if env is not None:
            row = _get(conn, env, token_id)
        else:
            row = conn.execute(select(_waitpoints).where(_w.id == token_id, _w.kind == "MANUAL")).first()
            if row is None or not hmac.compare_digest(row.callback_secret or "", secret or ""):
                raise NotFoundError(f"wait token {token_id!r} not found")
        done = waits.complete(conn, [token_id], "COMPLETED", data)
        return conn.execute(select(_waitpoints).where(_w.id == token_id)).one(), bool(done)


def already_completed(row: Any) -> ConflictError:
    return ConflictError(
        f"wait token {row.id} is already {row.status} (at {iso(row.completed_at)}); its first value stands",
        details={"status": row.status},
    )
