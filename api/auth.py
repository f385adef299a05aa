"""Who is calling: a secret key per environment, sent as `Authorization: Bearer <key>`."""

from __future__ import annotations

from fastapi import Request

from tether.runtime.environments import Env


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def environment(request: Request) -> Env:
    """FastAPI dependency: the caller's environment, or 401."""
    return request.app.state.keys.authenticate(bearer(request))
