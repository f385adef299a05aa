"""PostgreSQL dialect hooks: psycopg 3 and a small connection pool per process."""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc

def normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(writer, reader): each its own small pool.

    The writer runs transactions that wait for the disk at commit. The reader runs in autocommit:
    psycopg opens a transaction with a BEGIN round trip of its own, and under READ COMMITTED a
    read transaction gives no snapshot across statements anyway. Its sessions also commit without
    waiting for the disk (synchronous_commit=off), which only matters for the recoverable steps
    `Store.write_recoverable` sends through it; a later durable commit flushes them too.
    """
    url = normalize_url(url)
    writer = create_engine(url, pool_size=5, max_overflow=10)
    reader = create_engine(
        url, pool_size=5, max_overflow=10, isolation_level="AUTOCOMMIT", connect_args={"options": "-c synchronous_commit=off"}
    )
    for engine in (writer, reader):
        event.listen(engine, "checkout", _refuse_if_closed_by_server)
    return writer, reader


def _refuse_if_closed_by_server(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (it restarted, or an administrator ended the
    session) is replaced before use rather than failing the statement that gets it.

    An idle connection has nothing to read until it sends a query, so a socket that is readable
    holds the server's goodbye (or EOF). That is one non-blocking poll, where SQLAlchemy's
    pool_pre_ping costs a round trip to the server on every checkout.
    """
    if dbapi_conn.closed:
        raise exc.DisconnectionError("the connection was closed")
    poller = select.poll()  # not select.select: it fails on descriptors over 1024
    try:
        poller.register(dbapi_conn.fileno(), select.POLLIN)
    except (OSError, ValueError) as error:
        raise exc.DisconnectionError(f"the connection's socket is gone: {error}") from error
    if poller.poll(0):
        raise exc.DisconnectionError("the server closed the connection")
