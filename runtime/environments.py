"""Environments and their secret keys. A key sees only its own environment's runs and queues."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select

from tether._wire import utcnow
from tether.errors import AuthenticationError
from tether.runtime.ids import new_id
from tether.runtime.ids import secret_key as make_secret_key
from tether.runtime.store.database import Store
from tether.runtime.store.tables import Environment

_envs = Environment.__table__


@dataclass(frozen=True)
class Env:
    id: str
    slug: str
    secret_key: str
    concurrency_limit: int

    @property
    def public(self) -> dict[str, str]:
        return {"id": self.id, "name": self.slug}


def ensure(store: Store, slug: str, secret_key: str | None = None, concurrency_limit: int = 100) -> Env:
    """The environment `slug`, created if missing; its key is set to `secret_key` when one is given."""
    with store.write() as conn:
        row = conn.execute(select(_envs).where(_envs.c.slug == slug)).first()
        if row is None:
            key = secret_key or make_secret_key(slug)
            env_id = new_id("env")
            conn.execute(
                _envs.insert().values(
                    id=env_id, slug=slug, secret_key=key, concurrency_limit=concurrency_limit, created_at=utcnow()
                )
            )
            return Env(env_id, slug, key, concurrency_limit)
        if secret_key and row.secret_key != secret_key:
            conn.execute(_envs.update().where(_envs.c.id == row.id).values(secret_key=secret_key))
        return Env(row.id, row.slug, secret_key or row.secret_key, row.concurrency_limit)


class KeyRing:
    """Looks up the environment of a secret key, remembering answers."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: dict[str, Env] = {}
        self._by_id: dict[str, Env] = {}
        self._lock = threading.Lock()

    def authenticate(self, key: str | None) -> Env:
        if not key:
            raise AuthenticationError("missing secret key: send 'Authorization: Bearer <secret key>'")
        with self._lock:
            env = self._known.get(key)
        if env is not None:
            return env
        with self._store.read() as conn:
            row = conn.execute(select(_envs).where(_envs.c.secret_key == key)).first()
        if row is None:
            raise AuthenticationError("invalid secret key: check TETHER_SECRET_KEY (`tether dev` prints the dev key)")
        env = Env(row.id, row.slug, row.secret_key, row.concurrency_limit)
        with self._lock:
            self._known[key] = env
        return env

    def by_id(self, env_id: str) -> Env:
        """The environment with this id (LookupError if there is none), remembered like keys are."""
        with self._lock:
            env = self._by_id.get(env_id)
        if env is not None:
            return env
        with self._store.read() as conn:
            row = conn.execute(select(_envs).where(_envs.c.id == env_id)).first()
        if row is None:
            raise LookupError(f"no environment {env_id!r}")
        env = Env(row.id, row.slug, row.secret_key, row.concurrency_limit)
        with self._lock:
            self._by_id[env_id] = env
        return env
