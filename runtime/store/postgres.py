"""PostgreSQL dialect hooks: psycopg 3 and a small connection pool per process."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

def normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(writer, reader). They share one pool; the reader runs in autocommit.

    psycopg opens a transaction with a BEGIN round trip of its own, and under READ COMMITTED a
    read transaction gives no snapshot across statements anyway, so reads (and single-statement
    writes, see Store.write_one) skip BEGIN and COMMIT: one round trip instead of three.
    """
    engine = create_engine(normalize_url(url), pool_size=5, max_overflow=10)
    return engine, engine.execution_options(isolation_level="AUTOCOMMIT")
