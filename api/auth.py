"""Who is calling: `Authorization: Bearer <secret key>` (everything in its environment) or
`Bearer <public access token>` (a JWT granting a few scopes; see tether.runtime.public_tokens)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from tether.errors import NotFoundError, PermissionDeniedError

from tether.runtime import public_tokens
from tether.runtime.environments import Env
from tether.runtime.public_tokens import Access


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def access(request: Request) -> Access:
    """FastAPI dependency for routes a public token may use: what the caller may do, or 401."""
    token = bearer(request)
    keys = request.app.state.keys
    in_query = request.query_params.get("token")
    if token is None and in_query and public_tokens.looks_like_one(in_query):
        token = in_query  # EventSource cannot send headers; only public tokens travel in URLs
    if token is not None and public_tokens.looks_like_one(token):
        return public_tokens.verify(keys, token)
    return Access(keys.authenticate(token))


def environment(request: Request) -> Env:
    """FastAPI dependency for the other routes: the secret key's environment; 401, or 403 for a public token."""
    caller = access(request)
    caller.require_secret_key("this route")
    return caller.env


AccessDep = Annotated[Access, Depends(access)]


@contextlib.contextmanager
def missing_is_forbidden(caller: Access, scope: str) -> Iterator[None]:
    """Inside, a NotFoundError is a 403 for a public token, as if `scope` were not granted: a token
    learns nothing of what its environment does not have. A secret key gets the 404."""
    try:
        yield
    except NotFoundError:
        if caller.is_secret_key:
            raise
        raise PermissionDeniedError(f"this public access token does not grant {scope}") from None
