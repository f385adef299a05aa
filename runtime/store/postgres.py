"""PostgreSQL dialect hooks: psycopg 3 and a small connection pool per process."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

def normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engines(url: str) -> tuple[Engine, Engine]:
    engine = create_engine(normalize_url(url), pool_size=5, max_overflow=10)
    return engine, engine
