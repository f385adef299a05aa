"""Public access tokens: JWTs that let an untrusted holder (a browser, an editor's email) do a few
named things in one environment, and nothing else.

They are signed (HS256) with the environment's secret key, so checking one costs no database
read beyond the environment's key, and changing the key revokes them all (a gateway
remembers keys it has seen until it restarts). The claims follow
Trigger.dev's: `sub` the environment's id, `pub` true, `scopes`, `iat`, `exp`. A scope is
`action:kind` (every resource of that kind) or `action:kind:id`:

    read:runs:run_…       read:tags:user:42     read:batch:batch_…    read:tasks:send-email
    write:tasks:send-email (trigger it)         write:waitpoints:waitpoint_… (complete the token)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import uuid

import jwt
from sqlalchemy import delete, exc, insert

from tether._wire import utcnow
from tether.durations import resolve_instant
from tether.errors import AuthenticationError, PermissionDeniedError, ValidationError
from tether.runtime.environments import Env, KeyRing
from tether.runtime.store.database import Store
from tether.runtime.store.tables import SpentToken

ALGORITHM = "HS256"
KINDS = {"read": ("runs", "tags", "batch", "tasks", "waitpoints"), "write": ("tasks", "waitpoints")}
DEFAULT_EXPIRATION = timedelta(minutes=15)
MAX_SCOPES = 100
CLOCK_LEEWAY = 30  # seconds: a token minted on a machine whose clock runs a little ahead is still good


def looks_like_one(bearer: str) -> bool:
    """Secret keys are `tt_…`; a JWT is three base64url parts, the first a JSON header."""
    return bearer.startswith("eyJ") and bearer.count(".") == 2


def scopes_of(grants: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """`{"read": {"runs": ["run_1"], "tags": "user:42"}, "write": {"tasks": True}}` as scope strings;
    True grants every resource of the kind. Refuses actions, kinds and values it does not know."""
    scopes: list[str] = []
    for action, kinds in grants.items():
        if action not in KINDS or not isinstance(kinds, Mapping):
            raise ValidationError(f"scopes: unknown action {action!r}; use {{'read': {{...}}, 'write': {{...}}}}")
        for kind, ids in kinds.items():
            if kind not in KINDS[action]:
                raise ValidationError(f"scopes: {action} cannot name {kind!r}; it takes {', '.join(KINDS[action])}")
            if ids is True:
                scopes.append(f"{action}:{kind}")
                continue
            values = [ids] if isinstance(ids, str) else ids
            if not isinstance(values, list | tuple) or not all(isinstance(v, str) and v for v in values):
                raise ValidationError(f"scopes: {action}.{kind} takes an id, a list of ids, or true; got {ids!r}")
            scopes.extend(f"{action}:{kind}:{value}" for value in values)
    if not scopes or len(scopes) > MAX_SCOPES:
        raise ValidationError(f"a public token needs 1 to {MAX_SCOPES} scopes, got {len(scopes)}")
    return scopes


def expires_at(expiration: datetime | timedelta | str | float | None) -> datetime:
    """When a token made now with `expiration` ("15m", "2h", seconds, a timedelta or a datetime) expires."""
    now = utcnow()
    if expiration is None:
        return now + DEFAULT_EXPIRATION
    moment = now + expiration if isinstance(expiration, timedelta) else resolve_instant(expiration, field="expiration", now=now)
    if moment <= now:
        raise ValidationError(f"a public token's expiration must be in the future, got {expiration!r}")
    return moment


def create(env: Env, scopes: Iterable[str], expiration: datetime | timedelta | str | float | None = None, *, one_time: bool = False) -> str:
    """A signed token granting `scopes`; a `one_time` one is refused after its first use (`spend`)."""
    now = utcnow()
    payload: dict[str, Any] = {"sub": env.id, "pub": True, "scopes": list(scopes), "iat": int(now.timestamp()), "exp": int(expires_at(expiration).timestamp())}
    if one_time:
        payload.update(otu=True, jti=uuid.uuid4().hex)
    return jwt.encode(payload, env.secret_key, algorithm=ALGORITHM)


@dataclass(frozen=True)
class Access:
    """Who is calling: an environment, and the scopes of a public token (None for its secret key: everything)."""

    env: Env
    scopes: frozenset[str] | None = None
    one_time_id: str | None = None  # the `jti` of a one-time token
    expires: datetime | None = None

    @property
    def is_secret_key(self) -> bool:
        return self.scopes is None

    def allows(self, action: str, kind: str, resource: str | None = None) -> bool:
        if self.scopes is None:
            return True
        return f"{action}:{kind}" in self.scopes or (resource is not None and f"{action}:{kind}:{resource}" in self.scopes)

    def require(self, action: str, kind: str, resource: str | None = None) -> None:
        if not self.allows(action, kind, resource):
            needed = f"{action}:{kind}" + (f":{resource}" if resource else "")
            raise PermissionDeniedError(f"this public access token does not grant {needed}")

    def require_secret_key(self, what: str) -> None:
        if self.scopes is not None:
            raise PermissionDeniedError(f"{what} needs the environment's secret key; a public access token cannot do it")


def verify(keys: KeyRing, token: str) -> Access:
    """The access a public token grants; AuthenticationError (401) if it is forged, expired or unknown."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        env = keys.by_id(str(unverified.get("sub", "")))
    except (jwt.InvalidTokenError, LookupError):
        raise AuthenticationError("invalid public access token: it is not one this server issued") from None
    try:
        claims = jwt.decode(token, env.secret_key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}, leeway=CLOCK_LEEWAY)
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the public access token has expired: ask for a new one") from None
    except jwt.InvalidTokenError:
        raise AuthenticationError("invalid public access token: bad signature or claims (was the secret key rotated?)") from None
    scopes = claims.get("scopes")
    if claims.get("pub") is not True or not isinstance(scopes, list):
        raise AuthenticationError("invalid public access token: it grants no scopes")
    one_time = str(claims["jti"]) if claims.get("otu") and claims.get("jti") else None
    return Access(env, frozenset(str(s) for s in scopes), one_time, datetime.fromtimestamp(claims["exp"], UTC))


_spent = SpentToken.__table__


def spend(store: Store, access: Access) -> None:
    """Use up a one-time token (no-op for others); AuthenticationError if it was used before."""
    if access.one_time_id is None:
        return
    try:
        with store.write() as conn:
            conn.execute(delete(_spent).where(_spent.c.expires_at < utcnow()))  # expired ones are refused anyway
            conn.execute(insert(_spent).values(jti=access.one_time_id, expires_at=access.expires))
    except exc.IntegrityError:
        raise AuthenticationError("this one-time public access token was already used: ask for a new one") from None


def unspend(store: Store, access: Access) -> None:
    """Give a one-time token back when what it was spent on was refused (a bad payload, say)."""
    if access.one_time_id is not None:
        with store.write() as conn:
            conn.execute(delete(_spent).where(_spent.c.jti == access.one_time_id))
