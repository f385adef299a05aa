"""PostgreSQL dialect hooks: psycopg 3 and a small connection pool per process."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

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
    return writer, reader
