"""The PostgreSQL pools replace connections the server closed, before anyone uses them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from conftest import POSTGRES_ADMIN_URL, _postgres_database, eventually
from tether.runtime.store.database import Store

pytestmark = pytest.mark.postgres


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store(_postgres_database(f"tether_pool_{uuid.uuid4().hex[:8]}"))
    yield store
    store.dispose()


def _terminate_all_sessions(database: str) -> int:
    """End the database's sessions as a server restart would, and wait until they are gone."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()
        left = lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()[0]  # noqa: E731
        eventually(lambda: left() == 0, timeout=10, interval=0.01)
    return int(ended[0])


def _backend(conn) -> int:  # noqa: ANN001
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar())


def test_connections_the_server_ended_are_replaced_at_checkout(store: Store) -> None:
    with store.read() as conn:
        reader_before = _backend(conn)
    with store.write() as conn:
        writer_before = _backend(conn)
    assert _terminate_all_sessions(store.writer.url.database) == 2

    with store.read() as conn:  # would fail with "server closed the connection" without the check
        assert _backend(conn) != reader_before
    with store.write() as conn:
        assert _backend(conn) != writer_before
    with store.write_one() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_a_live_idle_connection_is_reused(store: Store) -> None:
    with store.read() as conn:
        first = _backend(conn)
    with store.read() as conn:
        assert _backend(conn) == first
