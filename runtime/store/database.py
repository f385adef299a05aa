"""The store: engines for one database URL, transactions, and migrations.

`sqlite:///path` for the embedded store, `postgresql://…` for production.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, exc

from tether.errors import StoreError
from tether.runtime.store import postgres, sqlite

log = logging.getLogger("tether.store")

_MIGRATIONS = Path(__file__).parent / "migrations"


class Store:
    """One database. `write()` and `read()` yield a Connection inside a transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        make = sqlite.make_engines if self.dialect == "sqlite" else postgres.make_engines
        self.writer, self.reader = make(url)
        # Durable single statements share the writer's pool, switched to autocommit (client side only).
        self._writer_autocommit = self.writer.execution_options(isolation_level="AUTOCOMMIT") if self.dialect == "postgresql" else self.writer

    def __repr__(self) -> str:
        return f"Store({self.dialect})"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        try:
            with self.writer.begin() as conn:
                yield conn
        except exc.IntegrityError:
            raise
        except exc.SQLAlchemyError as error:
            raise StoreError(f"database write failed: {error}") from error

    @contextmanager
    def write_one(self) -> Iterator[Connection]:
        """For a write that is one statement on PostgreSQL (a `PreparedTransition` there): it commits
        by itself, without BEGIN/COMMIT round trips, and durably. Elsewhere, a `write()`."""
        with self._single_statement(self._writer_autocommit) as conn:
            yield conn

    @contextmanager
    def write_recoverable(self) -> Iterator[Connection]:
        """Like `write_one`, for a step that recovery undoes if a database crash loses it (dequeue,
        the start of an attempt: the run's lease runs out and it is retried). On PostgreSQL it commits
        without waiting for the disk; the run's next durable write flushes it. SQLite in WAL mode with
        synchronous=NORMAL already commits that way."""
        with self._single_statement(self.reader) as conn:
            yield conn

    @contextmanager
    def _single_statement(self, engine: Engine) -> Iterator[Connection]:
        if self.dialect != "postgresql":
            with self.write() as conn:
                yield conn
            return
        try:
            with engine.connect() as conn:
                yield conn
        except exc.IntegrityError:
            raise
        except exc.SQLAlchemyError as error:
            raise StoreError(f"database write failed: {error}") from error

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.reader.begin() as conn:
                yield conn
        except exc.SQLAlchemyError as error:
            raise StoreError(f"database read failed: {error}") from error

    def migrate(self) -> None:
        migrate(self)

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()


_migrate_lock = threading.Lock()


def migrate(store: Store) -> None:
    """Bring the schema to the newest revision (alembic upgrade head)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with _migrate_lock, store.writer.connect() as conn:
        if store.dialect == "postgresql":
            # Two processes starting together must not both create the tables.
            conn.exec_driver_sql("SELECT pg_advisory_lock(727274)")
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        finally:
            if store.dialect == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_unlock(727274)")
            conn.commit()
